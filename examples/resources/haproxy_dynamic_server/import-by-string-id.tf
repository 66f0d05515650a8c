import {
  to = haproxy_dynamic_server.api
  id = "app/api-1"
}
