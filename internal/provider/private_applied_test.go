package provider

import (
	"slices"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

func TestAppliedRecordKeepsWhatSomeSocketMayHold(t *testing.T) {
	v := func(addr string, port int) fleet.Values {
		return fleet.Values{Addr: addr, Port: port, State: haproxy.StateReady, Weight: 50, Health: true}
	}
	a := appliedRecord{Writer: "w"}.after(v("127.0.0.3", 80), true)
	if !slices.Equal(a.At, []string{"127.0.0.3:80"}) || a.Writer != "w" || *a.values() != v("127.0.0.3", 80) {
		t.Fatalf("after a create: %+v", a)
	}
	// A move that some socket did not take: both addresses are the resource's.
	a = a.after(v("127.0.0.4", 80), false)
	if !slices.Equal(a.At, []string{"127.0.0.3:80", "127.0.0.4:80"}) || a.values().Addr != "127.0.0.4" {
		t.Fatalf("after a partial move: %+v", a)
	}
	// Moving back is not a duplicate; the newest stays last.
	a = a.after(v("127.0.0.3", 80), false)
	if !slices.Equal(a.At, []string{"127.0.0.4:80", "127.0.0.3:80"}) {
		t.Fatalf("after moving back: %+v", a)
	}
	for i := 5; i < 12; i++ {
		a = a.after(v("127.0.0."+string(rune('0'+i%10)), 80), false)
	}
	if len(a.At) != maxApplied {
		t.Errorf("the record is not bounded: %v", a.At)
	}
	// A move every socket took leaves only the new address.
	a = a.after(v("127.0.0.8", 81), true)
	if !slices.Equal(a.At, []string{"127.0.0.8:81"}) || len(a.wrote()) != 1 {
		t.Errorf("after a complete move: %+v", a)
	}
	if (appliedRecord{}).values() != nil {
		t.Error("no record has no values")
	}
}
