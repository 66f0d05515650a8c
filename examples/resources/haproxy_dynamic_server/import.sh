# Import a dynamic server by <backend>/<server>; its address, port, state,
# weight, health checks, ssl and agent port are read from every configured
# socket. Options HAProxy does not report (rise, fall, maxconn, …) are taken
# from the configuration in the first apply after the import.
terraform import haproxy_dynamic_server.api app/api-1
