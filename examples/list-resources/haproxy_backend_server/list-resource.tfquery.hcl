# Every server of backend "app" that was set by hand (not parked, not a
# pool's slot, not a dynamic server). Adopt them in one command:
#
#   terraform query -generate-config-out=servers.tf && terraform apply
list "haproxy_backend_server" "app" {
  provider         = haproxy
  include_resource = true
  config {
    backend = "app"
  }
}
