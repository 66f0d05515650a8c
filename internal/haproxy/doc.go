// Package haproxy is a small client for HAProxy's runtime API (the "stats
// socket" CLI). It knows nothing about Terraform.
//
// Rules it enforces, each learnt from a real HAProxy 2.6 (see
// ../../docs/haproxy-runtime-notes.md and the design document):
//
//   - Every value that reaches a socket is validated first. `;` and newlines
//     separate commands on the CLI, so a name is the injection boundary.
//   - Every call takes a context whose deadline covers dial, write and read.
//   - Connections are short: a batch of commands is written in one go and the
//     reply is read to EOF. Nothing is held open while waiting, and each
//     target allows only a few connections at once because the whole CLI of a
//     HAProxy process has only ten.
//   - Success is decided per command by the content of the reply, never by
//     framing or by severity prefixes.
package haproxy
