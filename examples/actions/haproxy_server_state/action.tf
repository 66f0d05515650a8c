# Take two servers out of rotation before maintenance, waiting until their
# sessions have ended on every instance:
#
#   terraform apply -invoke=action.haproxy_server_state.drain_for_maintenance
action "haproxy_server_state" "drain_for_maintenance" {
  config {
    backend               = "app"
    servers               = ["websrv1", "websrv2"]
    state                 = "drain"
    wait_sessions_timeout = "120s"
  }
}

# And back, each server held in drain until a fresh health check passed.
action "haproxy_server_state" "back_in_service" {
  config {
    backend              = "app"
    servers              = ["websrv1", "websrv2"]
    state                = "ready"
    wait_healthy_timeout = "30s"
  }
}
