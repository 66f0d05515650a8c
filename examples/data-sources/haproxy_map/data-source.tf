# The current entries of a map, as the instances hold them.
data "haproxy_map" "hosts" {
  map = "/etc/haproxy/hosts.map"
}

output "api_backend" {
  value = lookup(data.haproxy_map.hosts.entries, "api.example.com", null)
}
