//go:build benchstub

package provider

// benchStub is set in the benchmark's socket-stubbed build (`go build -tags
// benchstub`): same schema and plans, but Create and Update only copy the
// plan, Read keeps the state, Delete forgets. Such a build never opens a
// socket, so `make bench` can tell the provider's own cost from Terraform's.
// Never ship it.
const benchStub = true
