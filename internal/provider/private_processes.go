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
// on two instances (bench/results.md). Here each socket is a short hash of
// its address, and the whole record one string:
//
//	"<key>.<pid>.<started> <key>.<pid>.<started>"
//
// Records written in the earlier form (a JSON object keyed by socket) are
// still read.

// processKey names a socket in the record: 48 bits of its address's SHA-256,
// plenty to tell apart the handful of sockets one provider lists.
func processKey(socket string) string {
	sum := sha256.Sum256([]byte(socket))
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}

// encodeProcesses renders a record, sockets in a fixed order so that an
// unchanged record is byte-for-byte the same.
func encodeProcesses(m map[string]fleet.Process) string {
	entries := make([]string, 0, len(m))
	for socket, p := range m {
		entries = append(entries, fmt.Sprintf("%s.%d.%d", processKey(socket), p.PID, p.Started))
	}
	slices.Sort(entries)
	return strings.Join(entries, " ")
}

// decodeProcesses reads a record back for the sockets configured now; an
// entry for a socket no longer configured is dropped, and anything
// unreadable is no record (every use has a safe default: say nothing of a
// restart).
func decodeProcesses(raw []byte, sockets []string) map[string]fleet.Process {
	out := map[string]fleet.Process{}
	if len(raw) == 0 {
		return out
	}
	if raw[0] == '{' { // the earlier form
		var legacy map[string]fleet.Process
		_ = json.Unmarshal(raw, &legacy)
		for _, s := range sockets {
			if p, ok := legacy[s]; ok {
				out[s] = p
			}
		}
		return out
	}
	var record string
	if json.Unmarshal(raw, &record) != nil {
		return out
	}
	byKey := map[string]fleet.Process{}
	for _, e := range strings.Fields(record) {
		var p fleet.Process
		key, rest, ok := strings.Cut(e, ".")
		if !ok {
			continue
		}
		if _, err := fmt.Sscanf(rest, "%d.%d", &p.PID, &p.Started); err == nil {
			byKey[key] = p
		}
	}
	for _, s := range sockets {
		if p, ok := byKey[processKey(s)]; ok {
			out[s] = p
		}
	}
	return out
}

// getProcesses reads the process record for the sockets configured now.
func getProcesses(ctx context.Context, p privateGetter, sockets []string) map[string]fleet.Process {
	raw, _ := p.GetKey(ctx, privateProcesses)
	return decodeProcesses(raw, sockets)
}

// setProcesses records m; an empty record removes the key.
func setProcesses(ctx context.Context, p privateSetter, m map[string]fleet.Process, diags *diag.Diagnostics) {
	setPrivateJSON(ctx, p, privateProcesses, encodeProcesses(m), diags)
}
