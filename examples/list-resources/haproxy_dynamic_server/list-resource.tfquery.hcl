# Every server added at run time (`add server`), in every backend.
list "haproxy_dynamic_server" "all" {
  provider         = haproxy
  include_resource = true
}
