# Free slots of `server-template websrv 1-100 127.0.0.1:1 check disabled`.
data "haproxy_free_slots" "app" {
  backend     = "app"
  slot_prefix = "websrv"
  placeholder = "127.0.0.1:1"
}

output "next_free_slot" {
  value = try(data.haproxy_free_slots.app.slots[0], null)
}
