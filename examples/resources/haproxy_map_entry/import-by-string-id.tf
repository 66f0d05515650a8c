import {
  to = haproxy_map_entry.shop
  id = "/etc/haproxy/hosts.map:shop.example.com"
}
