# Import an existing server by <backend>/<server>; its address, port, state
# and weight are read from every configured socket.
terraform import haproxy_backend_server.api app/websrv50
