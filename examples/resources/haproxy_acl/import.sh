# Import an ACL file by the name `show acl` lists; its patterns are read from
# every configured socket.
terraform import haproxy_acl.blocked /etc/haproxy/blocked.acl
