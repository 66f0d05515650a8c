# Import one key as <map>:<key> (split at the first colon). The value the
# instances hold becomes this resource's own.
terraform import haproxy_map_entry.shop /etc/haproxy/hosts.map:shop.example.com
