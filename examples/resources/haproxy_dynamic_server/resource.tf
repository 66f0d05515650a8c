# haproxy.cfg only declares the backend; servers are added at run time.
# Its balance algorithm must accept dynamic servers (not static-rr, and
# hash-based ones only with `hash-type consistent`):
#
#   backend app
#       balance roundrobin

resource "haproxy_dynamic_server" "api" {
  backend = "app"
  server  = "api-1" # the name it gets; it must be free on every instance
  address = "10.0.3.15"
  port    = 8080
  weight  = 100

  # Fixed when the server is added: changing one replaces the server.
  check          = true
  check_interval = "2s"
  rise           = 2
  fall           = 3
  maxconn        = 500

  # Gentle changes: wait for a passing check before traffic, drain before delete.
  wait_healthy_timeout = "30s"
  drain_timeout        = "60s"
}

# TLS to the server, verified against the system's trusted CAs.
resource "haproxy_dynamic_server" "tls" {
  backend     = "app"
  server      = "api-tls-1"
  address     = "2001:db8::16"
  port        = 8443
  ssl         = true
  ssl_verify  = "required"
  ssl_ca_file = "@system-ca"
  sni         = "api.example.com"
}
