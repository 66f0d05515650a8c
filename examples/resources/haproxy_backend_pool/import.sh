# Adopt every slot of the prefix that is in service, as members keyed by slot name.
terraform import haproxy_backend_pool.app app/websrv
