# Terraform 1.12+ / OpenTofu 1.12+
import {
  to       = haproxy_dynamic_server.api
  identity = { backend = "app", server = "api-1" }
}
