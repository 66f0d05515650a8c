# HAProxy routes by a map of host names to backends:
#
#   frontend www
#       use_backend %[req.hdr(host),lower,map(/etc/haproxy/hosts.map,default)]
#
# This resource owns the map's whole content on every instance, replaced
# atomically on each.
resource "haproxy_map" "hosts" {
  map = "/etc/haproxy/hosts.map"
  entries = {
    "www.example.com"   = "web"
    "api.example.com"   = "api"
    "admin.example.com" = "admin"
  }
}
