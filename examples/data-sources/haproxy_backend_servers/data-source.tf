# Every server of backend "app" on every configured socket.
data "haproxy_backend_servers" "app" {
  backend     = "app"
  placeholder = "127.0.0.1:1" # free slots are parked here
}

# Servers taking traffic, as seen by each instance.
output "serving" {
  value = [for s in data.haproxy_backend_servers.app.servers : "${s.socket} ${s.name} ${s.address}:${s.port}" if s.state == "ready"]
}
