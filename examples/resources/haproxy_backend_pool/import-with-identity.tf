# Terraform 1.12+ / OpenTofu 1.12+
import {
  to       = haproxy_backend_pool.app
  identity = { backend = "app", slot_prefix = "websrv" }
}
