import {
  to = haproxy_backend_server.api
  id = "app/websrv50"
}
