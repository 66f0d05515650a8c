# The `make demo` configuration: scripts/demo.sh copies it into .demo/tf and
# writes terraform.tfvars with the sockets and ports of its throwaway HAProxy
# and its two loopback backends (alpha and beta).

terraform {
  required_providers {
    haproxy = {
      source = "haproxy-runtime/haproxy"
    }
  }
}

variable "sockets" {
  description = "Admin sockets of the demo HAProxy (unix and TCP)."
  type        = list(string)
}

variable "backend_a_port" {
  description = "Port of the first demo backend on 127.0.0.1."
  type        = number
}

variable "backend_b_port" {
  description = "Port of the second demo backend on 127.0.0.1."
  type        = number
}

provider "haproxy" {
  sockets = var.sockets
}

resource "haproxy_backend_server" "alpha" {
  backend              = "app"
  server               = "websrv1"
  address              = "127.0.0.1"
  port                 = var.backend_a_port
  state                = "ready"
  wait_healthy_timeout = "10s"
}

resource "haproxy_backend_server" "beta" {
  backend              = "app"
  server               = "websrv2"
  address              = "127.0.0.1"
  port                 = var.backend_b_port
  state                = "ready"
  wait_healthy_timeout = "10s"
}

output "servers" {
  value = {
    alpha = haproxy_backend_server.alpha.id
    beta  = haproxy_backend_server.beta.id
  }
}

output "targets" {
  value = {
    alpha = "${haproxy_backend_server.alpha.address}:${haproxy_backend_server.alpha.port} (${haproxy_backend_server.alpha.state})"
    beta  = "${haproxy_backend_server.beta.address}:${haproxy_backend_server.beta.port} (${haproxy_backend_server.beta.state})"
  }
}
