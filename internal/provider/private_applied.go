package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// appliedRecord is what a server object itself last wrote (privateApplied),
// kept short (Terraform rewrites the state file after every
// applied resource, see private_processes.go).
type appliedRecord struct {
	// Writer identifies this resource object in this provider process (see
	// fleet/handover.go): a replacement on the same slot has another one.
	Writer string `json:"n,omitempty"`
	// At are the address:ports written, newest last: the newest alone after
	// a write every socket took, the older ones too while some socket may
	// still hold them.
	At     []string `json:"at,omitempty"`
	State  string   `json:"s,omitempty"`
	Weight int      `json:"w"`
	Health bool     `json:"h,omitempty"`
}

// maxApplied bounds At: a resource that failed on some socket in many
// applies in a row keeps its last few addresses.
const maxApplied = 4

func newWriterID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func getApplied(ctx context.Context, p privateGetter, diags *diag.Diagnostics) appliedRecord {
	return privateApplied.get(ctx, p, diags)
}

// wrote lists the recorded address:ports.
func (a appliedRecord) wrote() []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range a.At {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			out = append(out, ap)
		}
	}
	return out
}

// values is what the last write asked of every socket; nil when nothing
// was recorded (an import, or a resource from before this record).
func (a appliedRecord) values() *fleet.Values {
	w := a.wrote()
	if len(w) == 0 {
		return nil
	}
	last := w[len(w)-1]
	return &fleet.Values{Addr: last.Addr().String(), Port: int(last.Port()), State: haproxy.State(a.State), Weight: a.Weight, Health: a.Health}
}

// after is the record once v was written: on every socket (everywhere), or
// only on some, so that the addresses written before may still be held.
func (a appliedRecord) after(v fleet.Values, everywhere bool) appliedRecord {
	at := []string{}
	if !everywhere {
		at = slices.Clone(a.At)
	}
	addr, err := netip.ParseAddr(v.Addr)
	if err != nil { // nothing was confirmed: keep what was recorded
		return a
	}
	ap := netip.AddrPortFrom(addr, uint16(v.Port)).String()
	at = append(slices.DeleteFunc(at, func(s string) bool { return s == ap }), ap)
	if len(at) > maxApplied {
		at = at[len(at)-maxApplied:]
	}
	return appliedRecord{Writer: a.Writer, At: at, State: string(v.State), Weight: v.Weight, Health: v.Health}
}

func setApplied(ctx context.Context, p privateSetter, a appliedRecord, diags *diag.Diagnostics) {
	privateApplied.set(ctx, p, a, diags)
}

// importedHere reports whether the object was imported and no write has
// since taken its values on every socket (privateImportedAt is set).
func importedHere(ctx context.Context, p privateGetter, diags *diag.Diagnostics) bool {
	return privateImportedAt.has(ctx, p, diags)
}

// serverOwner is what a server resource object can show a slot is its own
// (fleet.Claim): the value its state records, every instance's value an
// import found, and what it wrote itself; with its writer id.
func serverOwner(ctx context.Context, recorded netip.AddrPort, p privateGetter, diags *diag.Diagnostics) fleet.Owner {
	applied := getApplied(ctx, p, diags)
	owner := fleet.Holding(applied.Writer, recorded)
	for _, s := range privateImportedAt.get(ctx, p, diags) {
		if ap, err := netip.ParseAddrPort(s); err == nil && !slices.Contains(owner.Recorded, ap) {
			owner.Recorded = append(owner.Recorded, ap)
		}
	}
	owner.Wrote = applied.wrote()
	return owner
}

// importedValues lists what the instances that are not parked hold.
func importedValues(r fleet.Reading) []string {
	var out []string
	for _, sv := range r.PerSocket {
		if addr, err := netip.ParseAddr(sv.Values.Addr); err == nil && !sv.Parked {
			ap := netip.AddrPortFrom(addr, uint16(sv.Values.Port)).String()
			if !slices.Contains(out, ap) {
				out = append(out, ap)
			}
		}
	}
	return out
}
