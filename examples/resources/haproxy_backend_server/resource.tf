# haproxy.cfg declares the slots once; Terraform points them at machines:
#
#   backend app
#       server-template websrv 1-100 127.0.0.1:1 check disabled

resource "haproxy_backend_server" "api" {
  backend = "app"
  server  = "websrv50"
  address = "10.0.3.15"
  port    = 8080
  state   = "ready" # ready | drain | maint
  weight  = 100     # optional; unset leaves HAProxy's weight alone
}

# Take a server out of rotation without losing its address.
resource "haproxy_backend_server" "canary" {
  backend = "app"
  server  = "websrv51"
  address = "2001:db8::51"
  port    = 8080
  state   = "drain"
}
