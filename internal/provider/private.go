package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// Private state is a resource's own memory between runs: where a slot was
// before (to park it there), what the object wrote itself, which process
// last held its values, what the last refresh saw differ. Every key is
// declared in private_keys.go, with its type and what the resource does
// without it; this file is the one way a key is read and written.

type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// privateKey is one key of private state, holding a T as JSON (the one
// encoding: Terraform requires private values to be JSON).
type privateKey[T any] struct {
	name string
	// withoutIt says what the resource does when the key is there but cannot
	// be read (a hand-edited state, a provider from the future): it goes on
	// as without the key, with a warning that says so. Empty when it must
	// not go on: reading the key is then an error.
	withoutIt string
}

// get reads the key; a missing key is T's zero value, as is one that
// cannot be read (with a diagnostic, see withoutIt). A nil p reads as
// empty (a Create has no prior private state).
func (k privateKey[T]) get(ctx context.Context, p privateGetter, diags *diag.Diagnostics) T {
	var v T
	raw := k.raw(ctx, p, diags)
	if len(raw) == 0 {
		return v
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var zero T
		k.unreadable(err, diags)
		return zero
	}
	return v
}

// has reports whether the key is set at all.
func (k privateKey[T]) has(ctx context.Context, p privateGetter, diags *diag.Diagnostics) bool {
	return len(k.raw(ctx, p, diags)) > 0
}

func (k privateKey[T]) raw(ctx context.Context, p privateGetter, diags *diag.Diagnostics) []byte {
	if p == nil {
		return nil
	}
	raw, d := p.GetKey(ctx, k.name)
	diags.Append(d...)
	return raw
}

func (k privateKey[T]) unreadable(err error, diags *diag.Diagnostics) {
	summary := "Unreadable private state: " + k.name
	detail := "This resource's private state holds a \"" + k.name + "\" that this provider cannot read (" + err.Error() + ")."
	if k.withoutIt == "" {
		diags.AddError(summary, detail+" The provider cannot go on without it. "+
			"Restore the state file from a backup, or remove the resource from the state (terraform state rm) and import it again.")
		return
	}
	diags.AddWarning(summary, detail+" "+k.withoutIt)
}

// set stores v. A nil, false, "" or empty-map value removes the key
// instead: every reader takes a missing key as that value, and every byte
// kept here is paid for again each time Terraform rewrites the state file
// (see private_processes.go). An empty list is kept: for `added`, none is
// not the same as unknown.
func (k privateKey[T]) set(ctx context.Context, p privateSetter, v T, diags *diag.Diagnostics) {
	raw, err := json.Marshal(v)
	if err != nil {
		diags.AddError("Cannot record private state "+k.name, err.Error())
		return
	}
	switch string(raw) {
	case "null", "false", `""`, "{}":
		raw = nil
	}
	diags.Append(p.SetKey(ctx, k.name, raw)...)
}

// clear removes the key.
func (k privateKey[T]) clear(ctx context.Context, p privateSetter, diags *diag.Diagnostics) {
	diags.Append(p.SetKey(ctx, k.name, nil)...)
}
