package provider

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// memPrivate is private state in a map, as the framework keeps it.
type memPrivate map[string][]byte

func (m memPrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return m[key], nil
}

func (m memPrivate) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	if len(value) == 0 {
		delete(m, key)
	} else {
		m[key] = value
	}
	return nil
}

func TestPrivateKeyRoundTripAndEmptyRemoves(t *testing.T) {
	ctx, p, diags := context.Background(), memPrivate{}, diag.Diagnostics{}
	privateAdded.set(ctx, p, []string{"unix:///a.sock"}, &diags)
	if got := privateAdded.get(ctx, p, &diags); len(got) != 1 || got[0] != "unix:///a.sock" {
		t.Fatalf("read back %v", got)
	}
	// An empty list is kept (none added is not unknown); false, "" and an
	// empty map remove the key.
	privateAdded.set(ctx, p, []string{}, &diags)
	if !privateAdded.has(ctx, p, &diags) {
		t.Fatal("an empty list removed the key")
	}
	privateAdopt.set(ctx, p, true, &diags)
	privateAdopt.set(ctx, p, false, &diags)
	privatePoolWriter.set(ctx, p, "", &diags)
	privateLeavingSlots.set(ctx, p, map[string]string{}, &diags)
	privateConverge.set(ctx, p, convergeValues{}, &diags)
	privateDrift.set(ctx, p, nil, &diags)
	for _, k := range []string{"adopt", "writer", "leaving_slots", "converge", "drift"} {
		if _, ok := p[k]; ok {
			t.Errorf("%s kept as %s", k, p[k])
		}
	}
	if diags.HasError() || diags.WarningsCount() > 0 {
		t.Fatal(diags)
	}
}

// What earlier versions wrote by hand still reads as it meant.
func TestPrivateKeyReadsEarlierEncodings(t *testing.T) {
	ctx, diags := context.Background(), diag.Diagnostics{}
	p := memPrivate{
		"claim_token": []byte(`"127.0.0.9:4242"`), // hand-built JSON bytes
		"adopt":       []byte(`true`),             // fmt.Sprint(bool)
		"imported":    []byte(`true`),             // a raw "true"
	}
	if got := privateClaimToken.get(ctx, p, &diags); got != "127.0.0.9:4242" {
		t.Errorf("claim_token read as %q", got)
	}
	if !privateAdopt.get(ctx, p, &diags) || !privateImported.get(ctx, p, &diags) {
		t.Error("adopt or imported read as false")
	}
	if token, adopt := claimToken(ctx, p, &diags); token.String() != "127.0.0.9:4242" || !adopt {
		t.Errorf("claimToken read %v, %v", token, adopt)
	}
	if diags.HasError() || diags.WarningsCount() > 0 {
		t.Fatal(diags)
	}
}

func TestPrivateKeyUnreadableIsReported(t *testing.T) {
	ctx := context.Background()
	p := memPrivate{"converge": []byte(`[1,2]`), "origin": []byte(`"x"`)}

	var diags diag.Diagnostics
	if got := privateConverge.get(ctx, p, &diags); got.Port != nil || got.Weight != nil {
		t.Fatalf("an unreadable key read as %+v", got)
	}
	if diags.HasError() || diags.WarningsCount() != 1 || !strings.Contains(diags[0].Detail(), "The plan takes the port and weight the state records.") {
		t.Fatalf("want one warning that says what the resource does without it, got %v", diags)
	}

	diags = nil
	if got := privateOrigin.get(ctx, p, &diags); got != nil {
		t.Fatalf("an unreadable origin read as %v", got)
	}
	if !diags.HasError() || !strings.Contains(diags[0].Detail(), "terraform state rm") {
		t.Fatalf("an origin Delete cannot go on without must be an error that says what to do, got %v", diags)
	}
}

// One home: keys are declared in private_keys.go only, each name once, and
// nothing but private.go touches the framework's GetKey/SetKey.
func TestPrivateStateHasOneHome(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	decl := regexp.MustCompile(`privateKey\[.*?\]\{name: "([^"]+)"`)
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decl.FindAllSubmatch(src, -1) {
			if f != "private_keys.go" {
				t.Errorf("%s declares private key %q: declare it in private_keys.go", f, m[1])
			}
			if names[string(m[1])] {
				t.Errorf("private key %q declared twice", m[1])
			}
			names[string(m[1])] = true
		}
		if f != "private.go" && regexp.MustCompile(`\.(GetKey|SetKey)\(`).Match(src) {
			t.Errorf("%s calls GetKey/SetKey: go through a privateKey", f)
		}
	}
	if len(names) < 15 {
		t.Errorf("found %d keys in private_keys.go; the pattern above no longer matches their declarations", len(names))
	}
}
