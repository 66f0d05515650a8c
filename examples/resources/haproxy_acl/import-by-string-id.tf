import {
  to = haproxy_acl.blocked
  id = "/etc/haproxy/blocked.acl"
}
