package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// What a reviewer reads: the real `terraform plan` output (the acceptance
// framework does not show warnings). One instance's server is changed by
// hand in address, port and weight: the plan must carry one warning for
// the resource, whose table holds all three on every instance and which
// says what apply will do (Terraform folds warnings that share a summary,
// so three warnings would hide two). Then that instance restarts: the
// warning must name the restart.
func TestPlanOutputWordsDrift(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	be1 := startBackend(t, "be1", "127.0.0.3") // not the placeholder's address: a reset shows in it
	sockets := []string{a.UnixTarget(), b.TCPTarget()}
	c := newCLI(t, providerBlock(sockets...)+serverConfig("web3", "websrv3", be1.Host, be1.Port, "  weight = 10\n"))
	tf := func(args ...string) string { return c.must(args...) }
	tf("apply", "-auto-approve")

	b.Admin(t, "set server app/websrv3 addr 127.0.0.9 port 9090")
	b.Admin(t, "set server app/websrv3 weight 7")
	out := tf("plan")
	nameA, nameB := named(a.UnixTarget(), sockets...), named(b.TCPTarget(), sockets...)
	if strings.Count(out, "Warning: app/websrv3") != 1 || strings.Contains(out, "similar warning") {
		t.Errorf("want one warning for app/websrv3:\n%s", out)
	}
	row := func(cells ...string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^  ` + strings.Join(quoted(cells), ` +`) + `$`)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Warning: app/websrv3 changed outside Terraform on ` + regexp.QuoteMeta(nameB) + `\n`),
		row("instance", "address", "port", "weight"),
		row("(recorded)", be1.Host, fmt.Sprint(be1.Port), "10"),
		row(nameA, be1.Host, fmt.Sprint(be1.Port), "10"),
		row(nameB, "127.0.0.9", "9090", "7"),
		regexp.MustCompile(`Apply sets address = ` + regexp.QuoteMeta(be1.Host) + `, port = ` + fmt.Sprint(be1.Port) +
			`, weight = 10\s+on\s+` + regexp.QuoteMeta(nameB)),
	} {
		if !want.MatchString(out) {
			t.Errorf("plan output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "restarted") {
		t.Errorf("a hand edit is not a restart:\n%s", out)
	}

	b.Restart(t)
	out = tf("plan")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(regexp.QuoteMeta(nameB) + `\s+restarted\s+\(or\s+reloaded\)\s+(under\s+a\s+second|\d+\s+seconds?)\s+ago;\s+its\s+runtime\s+changes\s+were\s+lost;\s+this\s+plan\s+restores\s+them`),
		row(nameB, "127.0.0.1", "1", "maint", "1"),
	} {
		if !want.MatchString(out) {
			t.Errorf("plan output after a restart lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, nameA+" restarted") {
		t.Errorf("%s did not restart:\n%s", nameA, out)
	}
	tf("apply", "-auto-approve")
	if err := expectSlot(t, b, "app", "websrv3", be1.Host, be1.Port, adminReady, 10); err != nil {
		t.Error(err)
	}
	if out := tf("plan"); strings.Contains(out, "Warning: app/") || !strings.Contains(out, "No changes") {
		t.Errorf("after apply the plan should be empty and quiet:\n%s", out)
	}
	tf("destroy", "-auto-approve")
}

func quoted(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = regexp.QuoteMeta(c)
	}
	return out
}
