# Close what is left on a server that was drained (for example by
# haproxy_server_state) once its deadline is over:
#
#   terraform apply -invoke=action.haproxy_shutdown_sessions.kick
action "haproxy_shutdown_sessions" "kick" {
  config {
    backend = "app"
    servers = ["websrv1"]
  }
}
