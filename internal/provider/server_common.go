package provider

// What haproxy_backend_server and haproxy_dynamic_server share: the model
// and attributes of a server, how a plan is written to every socket, how a
// refresh reads it back and words drift, and how a plan is modified. Each
// resource's own file keeps only what is its own (as
// terraform-provider-tls keeps common_cert.go beside its resources).
