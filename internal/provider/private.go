package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// Private state is a resource's own memory between runs: where a slot was
// before (to park it there), which process last held its values, and what
// the last refresh saw differ.

type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// getPrivateJSON reads a key written by setPrivateJSON; a missing or
// unreadable key gives the zero value (private state is advisory here:
// every use has a safe default).
func getPrivateJSON[T any](ctx context.Context, p privateGetter, key string) T {
	var v T
	raw, _ := p.GetKey(ctx, key)
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

// setPrivateJSON stores v under key. A nil, false, "" or empty-map value
// removes the key instead: every reader takes a missing key as that value,
// and every byte kept here is paid for again each time Terraform rewrites
// the state file (see private_processes.go). An empty list is kept: for
// `added`, none is not the same as unknown.
func setPrivateJSON(ctx context.Context, p privateSetter, key string, v any, diags *diag.Diagnostics) {
	raw, err := json.Marshal(v)
	if err != nil {
		diags.AddError("Cannot record private state "+key, err.Error())
		return
	}
	switch string(raw) {
	case "null", "false", `""`, "{}":
		raw = nil
	}
	diags.Append(p.SetKey(ctx, key, raw)...)
}
