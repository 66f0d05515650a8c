# Terraform 1.12+ / OpenTofu 1.12+
import {
  to       = haproxy_backend_server.api
  identity = { backend = "app", server = "websrv50" }
}
