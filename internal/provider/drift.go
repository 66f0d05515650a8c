package provider

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// Drift wording: a server whose values differ between instances, or from
// what was recorded, is told in one warning per resource, with every
// differing attribute and every instance's value in one aligned table, so
// Terraform (which folds warnings that share a summary) shows all of it.

// driftReport is what a refresh saw, kept in private state until the plan
// words it (ModifyPlan knows what apply will do; Read does not).
type driftReport struct {
	Recorded  *fleet.Values    `json:"recorded,omitempty"`
	Instances []driftInstance  `json:"instances"`
	Attrs     []fleet.Attr     `json:"attrs"`
	Restarted map[string]int64 `json:"restarted,omitempty"` // instance name → seconds since its process started
}

type driftInstance struct {
	Name   string       `json:"name"`
	Values fleet.Values `json:"values"`
	Parked bool         `json:"parked,omitempty"` // contributes nothing (fleet.SocketValues.Parked)
}

// hclName is an attribute's name in the configuration.
var hclName = map[fleet.Attr]string{
	fleet.AttrAddress: "address",
	fleet.AttrPort:    "port",
	fleet.AttrState:   "state",
	fleet.AttrWeight:  "weight",
	fleet.AttrHealth:  "health_check",
}

// hclValue is an attribute's value as the configuration writes it.
func hclValue(a fleet.Attr, v fleet.Values) string {
	if a == fleet.AttrHealth {
		return strconv.FormatBool(v.Health)
	}
	return v.Get(a)
}

// newDriftReport returns the report of a reading, or nil when every
// instance holds the recorded values (or, on import, agrees).
func newDriftReport(recorded *fleet.Values, r fleet.Reading) *driftReport {
	rep := &driftReport{Recorded: recorded}
	for _, a := range fleet.Attrs {
		differs := r.Splits(a)
		if recorded != nil && !differs {
			for _, sv := range r.PerSocket {
				differs = differs || sv.Values.Get(a) != recorded.Get(a)
			}
		}
		if differs {
			rep.Attrs = append(rep.Attrs, a)
		}
	}
	if len(rep.Attrs) == 0 {
		return nil
	}
	for _, sv := range r.PerSocket {
		rep.Instances = append(rep.Instances, driftInstance{Name: sv.Name, Values: sv.Values, Parked: sv.Parked})
	}
	return rep
}

// split reports whether the instances disagree on a.
func (rep *driftReport) split(a fleet.Attr) bool { return disagree(rep.Instances, a) }

// splitServing reports whether the instances that are not parked disagree
// on a.
func (rep *driftReport) splitServing(a fleet.Attr) bool { return disagree(rep.serving(), a) }

func disagree(insts []driftInstance, a fleet.Attr) bool {
	for _, i := range insts {
		if i.Values.Get(a) != insts[0].Values.Get(a) {
			return true
		}
	}
	return false
}

// serving are the instances that are not parked.
func (rep *driftReport) serving() []driftInstance {
	var out []driftInstance
	for _, i := range rep.Instances {
		if !i.Parked {
			out = append(out, i)
		}
	}
	return out
}

// perInstance words each serving instance's value of a: "8080 on lb1".
func (rep *driftReport) perInstance(a fleet.Attr) []string {
	var out []string
	for _, i := range rep.serving() {
		out = append(out, fmt.Sprintf("%s on %s", hclValue(a, i.Values), i.Name))
	}
	return out
}

// without drops the attributes apply leaves alone on which every instance
// agrees: the state simply takes HAProxy's value, and there is nothing to
// review. It returns nil when nothing is left.
func (rep *driftReport) without(unmanaged []fleet.Attr) *driftReport {
	rep.Attrs = slices.DeleteFunc(rep.Attrs, func(a fleet.Attr) bool {
		return slices.Contains(unmanaged, a) && !rep.split(a)
	})
	if len(rep.Attrs) == 0 {
		return nil
	}
	return rep
}

// noteRestarts records which drifted instances run a process other than
// the one recorded when the values were last known to hold there.
func (rep *driftReport) noteRestarts(recorded processRecord, now map[string]fleet.Process, names func(string) string, at time.Time) {
	for socket := range recorded {
		cur, ok := now[socket]
		if !ok || recorded.runs(socket, cur) {
			continue
		}
		if rep.Restarted == nil {
			rep.Restarted = map[string]int64{}
		}
		rep.Restarted[names(socket)] = int64(cur.Age(at).Seconds())
	}
}

// drifted reports whether an instance differs from the recorded values.
func (rep *driftReport) drifted(i driftInstance) bool {
	if rep.Recorded == nil {
		return false
	}
	for _, a := range rep.Attrs {
		if i.Values.Get(a) != rep.Recorded.Get(a) {
			return true
		}
	}
	return false
}

// summary names the resource and what happened.
func (rep *driftReport) summary(resource string) string {
	var drifted []string
	for _, i := range rep.Instances {
		if rep.drifted(i) {
			drifted = append(drifted, i.Name)
		}
	}
	if rep.Recorded != nil && len(drifted) == len(rep.Instances) && len(rep.Instances) > 1 {
		return fmt.Sprintf("%s changed outside Terraform on every HAProxy instance", resource)
	}
	if rep.Recorded != nil && len(drifted) > 0 {
		return fmt.Sprintf("%s changed outside Terraform on %s", resource, strings.Join(drifted, ", "))
	}
	return fmt.Sprintf("%s differs between HAProxy instances", resource)
}

// detail is the restarts, the table, and then what apply will do.
func (rep *driftReport) detail(applies string) string {
	var b strings.Builder
	for _, i := range rep.Instances {
		if secs, ok := rep.Restarted[i.Name]; ok && rep.drifted(i) {
			fmt.Fprintf(&b, "%s restarted (or reloaded) %s ago; its runtime changes were lost; this plan restores them.\n", i.Name, ago(secs))
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	rows := [][]string{{"instance"}}
	for _, a := range rep.Attrs {
		rows[0] = append(rows[0], hclName[a])
	}
	add := func(name string, v fleet.Values) {
		row := []string{name}
		for _, a := range rep.Attrs {
			row = append(row, hclValue(a, v))
		}
		rows = append(rows, row)
	}
	if rep.Recorded != nil {
		add("(recorded)", *rep.Recorded)
	}
	for _, i := range rep.Instances {
		add(i.Name, i.Values)
	}
	b.WriteString(table(rows))
	b.WriteString("\n")
	b.WriteString(applies)
	return b.String()
}

// table aligns rows in columns. Every line starts with two spaces: Terraform
// does not re-wrap indented lines of a diagnostic.
func table(rows [][]string) string {
	widths := map[int]int{}
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		line := ""
		for i, cell := range row {
			line += "  " + cell + strings.Repeat(" ", widths[i]-len(cell))
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// ago words a duration in seconds the way a reviewer reads it.
func ago(secs int64) string {
	d := time.Duration(secs) * time.Second
	switch {
	case secs < 1:
		return "under a second"
	case secs == 1:
		return "1 second"
	case d < 2*time.Minute:
		return fmt.Sprintf("%d seconds", secs)
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// planned is one attribute's value in the plan: known, or not yet.
type planned struct {
	value   string
	unknown bool
	managed bool // false: apply leaves it alone (unset, and nothing to converge)
}

// needsApply reports whether apply would change some instance, given the plan.
func (rep *driftReport) needsApply(plan map[fleet.Attr]planned) bool {
	for _, i := range rep.Instances {
		for _, a := range rep.Attrs {
			if p := plan[a]; p.managed && (p.unknown || hclValue(a, i.Values) != p.value) {
				return true
			}
		}
	}
	return false
}

// applies says what apply will do to each instance, given the plan.
func (rep *driftReport) applies(plan map[fleet.Attr]planned) string {
	var lines []string
	var left []string
	for _, a := range rep.Attrs {
		if !plan[a].managed {
			left = append(left, hclName[a])
		}
	}
	for _, i := range rep.Instances {
		var sets []string
		for _, a := range rep.Attrs {
			p := plan[a]
			switch {
			case !p.managed:
			case p.unknown:
				sets = append(sets, hclName[a]+" (known after apply)")
			case hclValue(a, i.Values) != p.value:
				sets = append(sets, hclName[a]+" = "+p.value)
			}
		}
		if len(sets) > 0 {
			lines = append(lines, fmt.Sprintf("Apply sets %s on %s.", strings.Join(sets, ", "), i.Name))
		}
	}
	if len(left) > 0 {
		lines = append(lines, fmt.Sprintf("The configuration does not set %s, so apply leaves %s as each instance has it.",
			strings.Join(left, ", "), map[bool]string{true: "it", false: "them"}[len(left) == 1]))
	}
	if len(lines) == 0 {
		lines = append(lines, "Apply changes nothing on the instances: they already hold the planned values, which the state now records.")
	}
	return strings.Join(lines, "\n")
}

// warnPoolMember words what a refresh saw of one pool member: instances
// that disagree (one warning, with the table), sockets skipped, and states
// the pool does not manage. Instances that agree on a new value need no
// warning: the plan shows it as a change.
func warnPoolMember(p pool.Pool, member string, r fleet.Reading, diags *diag.Diagnostics) {
	what := fmt.Sprintf("Pool %s/%s member %q", p.Backend, p.Prefix, member)
	warnReadSkipped(what, r.Skipped, diags)
	for _, u := range r.Unmanaged {
		diags.AddWarning(what+" is in a state the pool does not manage",
			fmt.Sprintf("On %s the member's slot is also in %s.", u.Socket, strings.Join(u.States, ", ")))
	}
	if len(r.Split) == 0 {
		return
	}
	rep := newDriftReport(nil, r).without([]fleet.Attr{fleet.AttrHealth})
	if rep != nil {
		diags.AddWarning(what+" differs between HAProxy instances",
			rep.detail("Apply sets every instance to the member's configured values."))
	}
}
