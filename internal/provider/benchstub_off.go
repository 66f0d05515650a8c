//go:build !benchstub

package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
)

// benchStub is false in every real build: see benchstub_on.go.
const benchStub = false

// stubPoolApply is never called in a real build.
func stubPoolApply(context.Context, *backendPoolModel, *tfsdk.State, *diag.Diagnostics) bool {
	panic("benchstub only")
}
