// Package pool runs many servers under one prefix as one resource: a pool
// of `server-template` slots (allocation, claims against other writers,
// recovery of a killed run's work, batched writes) and a pool of dynamic
// servers. It builds on package fleet, which owns the sockets, the safe
// order of writes and their confirmation; it knows nothing about
// Terraform.
package pool

import (
	"sync/atomic"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

// fleetOps is the fleet as this package uses it: the fleet's exported API, and
// this package's methods on top.
type fleetOps struct{ *fleet.Fleet }

// claimsLost counts the slot claims this process lost to other writers.
var claimsLost atomic.Int64

// ClaimsLost is how many slot claims this process lost to other writers
// (for tests and benchmarks of the claim race).
func ClaimsLost() int64 { return claimsLost.Load() }
