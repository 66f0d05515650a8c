// Package haproxy is a small client for HAProxy's runtime API (the "stats
// socket" CLI). It knows nothing about Terraform.
//
// Rules it enforces, each learnt from a real HAProxy (2.6 to 3.4; the exact
// replies are kept under testdata/<version>/ and the differences are listed
// in the provider's "HAProxy versions" guide):
//
//   - Every value that reaches a socket is validated first. `;` and newlines
//     separate commands on the CLI, so a name is the injection boundary.
//   - Every call takes a context whose deadline covers dial, handshake,
//     write and read.
//   - Connections are short: a batch of commands is written in one go and the
//     reply is read to EOF. Nothing is held open while waiting, and each
//     target allows only a few connections at once because the whole CLI of a
//     HAProxy process has only ten.
//   - Success is decided per command by the content of the reply, never by
//     framing; severity prefixes are removed first (severity.go).
//   - Transports: unix and TCP sockets, mutual TLS (tls.go), SSH stream-local
//     forwarding (ssh.go), and the master CLI over any of them (framing.go).
package haproxy
