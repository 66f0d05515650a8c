# One result per slot prefix that serves, its serving slots as members.
list "haproxy_backend_pool" "app" {
  provider         = haproxy
  include_resource = true
  config {
    backend = "app"
  }
}
