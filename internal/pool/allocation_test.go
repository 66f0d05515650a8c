package pool

import (
	"reflect"
	"strings"
	"testing"
)

// The pool's allocation as a table, no socket: who keeps which slot, which
// slots are parked, who needs a new slot, and which slots a newcomer may
// not get.
func TestPoolAllocation(t *testing.T) {
	slots := map[string]bool{"websrv1": true, "websrv2": true, "websrv3": true, "websrv4": true}
	members := func(keys ...string) map[string]Member {
		out := map[string]Member{}
		for _, k := range keys {
			out[k] = Member{}
		}
		return out
	}
	noForeign := func(string) []string { return nil }
	for _, tc := range []struct {
		name      string
		members   map[string]Member
		assigned  map[string]string
		adopted   map[string]string
		lost      []string
		foreign   func(string) []string
		kept      map[string]string
		removed   []string
		newcomers []string
		taken     []string
		warning   string
	}{
		{
			name:    "a new pool: every member is a newcomer, in order",
			members: members("b", "a"), foreign: noForeign,
			kept: map[string]string{}, newcomers: []string{"a", "b"},
		},
		{
			name:    "nothing changed: everyone keeps their slot",
			members: members("a", "b"), assigned: map[string]string{"a": "websrv1", "b": "websrv2"}, foreign: noForeign,
			kept: map[string]string{"a": "websrv1", "b": "websrv2"}, taken: []string{"websrv1", "websrv2"},
		},
		{
			name:    "a member leaves, another joins: the slot left is parked first, not reused in the same apply",
			members: members("a", "c"), assigned: map[string]string{"a": "websrv1", "b": "websrv2"}, foreign: noForeign,
			kept: map[string]string{"a": "websrv1"}, removed: []string{"websrv2"}, newcomers: []string{"c"}, taken: []string{"websrv1", "websrv2"},
		},
		{
			name:    "a killed run's slot is adopted: no new slot for that member",
			members: members("a", "b"), assigned: map[string]string{"a": "websrv1"}, adopted: map[string]string{"b": "websrv3"}, foreign: noForeign,
			kept: map[string]string{"a": "websrv1", "b": "websrv3"}, taken: []string{"websrv1", "websrv3"},
		},
		{
			name:    "a kept slot another pool claimed since a reload is lost: the member takes a new one",
			members: members("a", "b"), assigned: map[string]string{"a": "websrv1", "b": "websrv2"}, lost: []string{"b"}, foreign: noForeign,
			kept: map[string]string{"a": "websrv1"}, newcomers: []string{"b"}, taken: []string{"websrv1"},
		},
		{
			name:    "a slot of a member that left, claimed by another pool, is left alone with a warning",
			members: members("a"), assigned: map[string]string{"a": "websrv1", "b": "websrv2", "c": "websrv4"},
			foreign: func(slot string) []string {
				if slot == "websrv2" {
					return []string{"a.sock: 127.0.0.1:4001"}
				}
				return nil
			},
			kept: map[string]string{"a": "websrv1"}, removed: []string{"websrv4"}, taken: []string{"websrv1", "websrv4"},
			warning: `slot app/websrv2 of member "b", which left, is claimed by another pool (a.sock: 127.0.0.1:4001); it was left alone`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Pool{Backend: "app", Prefix: "websrv", Members: tc.members, Assigned: tc.assigned}
			a, err := splitRecorded(p, slots)
			if err != nil {
				t.Fatal(err)
			}
			a.adopt(tc.adopted)
			warnings := a.finish(p, tc.lost, tc.foreign)
			var taken []string
			for _, s := range []string{"websrv1", "websrv2", "websrv3", "websrv4"} {
				if a.taken[s] {
					taken = append(taken, s)
				}
			}
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"kept", a.kept, tc.kept}, {"removed", a.removed, tc.removed}, {"newcomers", a.newcomers, tc.newcomers}, {"taken", taken, tc.taken},
			} {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if got := strings.Join(warnings, "\n"); got != tc.warning {
				t.Errorf("warnings = %q, want %q", got, tc.warning)
			}
		})
	}
}

// A recorded slot the backend no longer has stops the apply before
// anything is claimed or written: the configuration changed under the pool.
func TestPoolAllocationRefusesAVanishedSlot(t *testing.T) {
	p := Pool{Backend: "app", Members: map[string]Member{"a": {}}, Assigned: map[string]string{"a": "websrv9"}}
	_, err := splitRecorded(p, map[string]bool{"websrv1": true})
	if err == nil || !strings.Contains(err.Error(), `slot websrv9 of member "a" no longer exists in backend app`) {
		t.Fatalf("err = %v", err)
	}
}
