# Import a map by the file name `show map` lists; its entries are read from
# every configured socket.
terraform import haproxy_map.hosts /etc/haproxy/hosts.map
