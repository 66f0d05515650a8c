# A blocklist HAProxy loads with
#
#   acl blocked src -f /etc/haproxy/blocked.acl
#   http-request deny if blocked
#
# This resource owns the whole list on every instance, replaced atomically.
resource "haproxy_acl" "blocked" {
  acl = "/etc/haproxy/blocked.acl"
  patterns = [
    "192.0.2.0/24",
    "198.51.100.7",
  ]
}
