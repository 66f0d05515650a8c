package provider

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

// The process record (privateProcesses) is kept small on purpose. Private
// state lives in the state file next to every server, and Terraform's local
// backend rewrites the whole state file after each resource it applies, so
// a byte recorded per server is written about N²/2 times in an apply of N
// servers. Keyed by full socket addresses as JSON, the record made the state
// file half as large again and cost about a tenth of an apply of 500 servers
// on two instances (bench/results.md). Then each socket became a short hash
// of its address and its process "pid.started", which on 20 instances was
// still 540 characters a server, about 950 bytes of state once Terraform
// and the framework had each base64-encoded it. The record is only ever
// asked one thing, whether a socket still runs the process it recorded, so
// now it keeps a fingerprint of the process, not the process:
//
//	"<key><fingerprint> <key><fingerprint>"   (8 + 6 characters each)
//
// Records written in the two earlier forms (a JSON object keyed by socket,
// and "<key>.<pid>.<started>" entries) are still read.

// processRecord is what the record keeps of each socket's process.
type processRecord map[string]string // socket → fingerprint

// processKey names a socket in the record: 48 bits of its address's SHA-256,
// plenty to tell apart the handful of sockets one provider lists.
func processKey(socket string) string {
	sum := sha256.Sum256([]byte(socket))
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}

// fingerprint names a process in the record: 36 bits of the SHA-256 of its
// pid and start time. Two processes of one socket share one by chance once
// in tens of billions of restarts, and then the plan says "drifted" where
// it could have said "restarted".
func fingerprint(p fleet.Process) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d.%d", p.PID, p.Started))
	return base64.RawURLEncoding.EncodeToString(sum[:6])[:6]
}

const keyLen, fingerprintLen = 8, 6

// recordOf is the record of each socket's process.
func recordOf(m map[string]fleet.Process) processRecord {
	out := make(processRecord, len(m))
	for socket, p := range m {
		out[socket] = fingerprint(p)
	}
	return out
}

// runs reports whether the record says socket ran p (false without an
// entry for socket).
func (r processRecord) runs(socket string, p fleet.Process) bool {
	return r[socket] == fingerprint(p)
}

// encodeProcesses renders a record, sockets in a fixed order so that an
// unchanged record is byte-for-byte the same.
func encodeProcesses(r processRecord) string {
	entries := make([]string, 0, len(r))
	for socket, fp := range r {
		entries = append(entries, processKey(socket)+fp)
	}
	slices.Sort(entries)
	return strings.Join(entries, " ")
}

// decodeProcesses reads a record back for the sockets configured now; an
// entry for a socket no longer configured is dropped, and anything
// unreadable is no record (every use has a safe default: say nothing of a
// restart).
func decodeProcesses(raw []byte, sockets []string) processRecord {
	out := processRecord{}
	if len(raw) == 0 {
		return out
	}
	if raw[0] == '{' { // the first form
		var legacy map[string]fleet.Process
		_ = json.Unmarshal(raw, &legacy)
		for _, s := range sockets {
			if p, ok := legacy[s]; ok {
				out[s] = fingerprint(p)
			}
		}
		return out
	}
	var record string
	if json.Unmarshal(raw, &record) != nil {
		return out
	}
	byKey := map[string]string{}
	for _, e := range strings.Fields(record) {
		if key, rest, ok := strings.Cut(e, "."); ok { // the second form
			var p fleet.Process
			if _, err := fmt.Sscanf(rest, "%d.%d", &p.PID, &p.Started); err == nil {
				byKey[key] = fingerprint(p)
			}
			continue
		}
		if len(e) == keyLen+fingerprintLen {
			byKey[e[:keyLen]] = e[keyLen:]
		}
	}
	for _, s := range sockets {
		if fp, ok := byKey[processKey(s)]; ok {
			out[s] = fp
		}
	}
	return out
}

// getProcesses reads the process record for the sockets configured now.
func getProcesses(ctx context.Context, p privateGetter, sockets []string, diags *diag.Diagnostics) processRecord {
	return decodeProcesses(privateProcesses.get(ctx, p, diags), sockets)
}

// setProcesses records r; an empty record removes the key.
func setProcesses(ctx context.Context, p privateSetter, r processRecord, diags *diag.Diagnostics) {
	raw, _ := json.Marshal(encodeProcesses(r)) // a string: cannot fail
	if len(r) == 0 {
		raw = nil
	}
	privateProcesses.set(ctx, p, raw, diags)
}
