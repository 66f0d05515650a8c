# haproxy.cfg:  server-template websrv 1-100 127.0.0.1:1 check disabled
#
# The pool picks the slots: members keep theirs for life, new members take
# the lowest free slot, removed members are drained and parked.
resource "haproxy_backend_pool" "app" {
  backend     = "app"
  slot_prefix = "websrv"
  members = {
    "api-1" = { address = "10.0.3.15", port = 8080, weight = 100 }
    "api-2" = { address = "10.0.3.16", port = 8080, state = "drain" }
  }
  drain_timeout = "30s"
}

output "slots" {
  value = haproxy_backend_pool.app.slots # { "api-1" = "websrv1", "api-2" = "websrv2" }
}
