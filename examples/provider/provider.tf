# The provider's source address; `terraform init` installs it from there.
terraform {
  required_providers {
    haproxy = {
      source = "haproxy-runtime/haproxy"
    }
  }
}

# Every write goes to every socket: list one admin socket per HAProxy instance.
provider "haproxy" {
  sockets = [
    "unix:///run/haproxy/admin.sock", # this host's instance
    "tcp://127.0.0.1:9999",           # a second instance's `stats socket ipv4@127.0.0.1:9999 level admin`
  ]
  timeout = "10s" # per socket operation
}
