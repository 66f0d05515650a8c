import {
  to = haproxy_map.hosts
  id = "/etc/haproxy/hosts.map"
}
