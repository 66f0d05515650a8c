import {
  to = haproxy_backend_pool.app
  id = "app/websrv"
}
