package fleet

import "strings"

// Slots and claim markers are names every room of the provider agrees on:
// a slot is a server named <prefix><number> (a `server-template` line's),
// and a pool claims slot S by adding a marker server named `S.claim` on
// every socket (package pool does the claiming). A single server's
// pre-flight refuses a slot a pool has claimed, and listings and surveys
// keep markers apart from servers, so the naming lives here, below both.

const claimSuffix = ".claim"

// ClaimMarker is the name of the marker server that claims slot.
func ClaimMarker(slot string) string { return slot + claimSuffix }

func isClaimMarker(name string) bool { return strings.HasSuffix(name, claimSuffix) }

func claimedSlot(marker string) string { return strings.TrimSuffix(marker, claimSuffix) }

// SlotNumber parses <prefix><number>, rejecting leading zeros.
func SlotNumber(prefix, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" || rest[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' || n > 1e8 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
