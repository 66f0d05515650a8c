# One host of a map that another tool (or team) also writes: only this key
# is managed, and only while it holds the value this resource wrote.
resource "haproxy_map_entry" "shop" {
  map   = "/etc/haproxy/hosts.map"
  key   = "shop.example.com"
  value = "shop"
}
