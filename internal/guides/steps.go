// Package guides reads the runnable parts of the operator guides
// (docs/guides/*.md), so that a test can follow a guide the way an operator
// copies it: the HAProxy configurations it shows, the Terraform
// configurations it applies, and what traffic it promises after each step.
//
// A guide marks a step with an HTML comment on a line of its own (rendered
// pages do not show it):
//
//	<!-- guide-test: haproxy lb1 -->     the next fenced block is the whole haproxy.cfg of instance lb1
//	<!-- guide-test: file hosts.map -->  the next fenced block is a file the configurations name
//	<!-- guide-test: empty-file /etc/haproxy/hosts.map -->  an empty file the configurations name
//	<!-- guide-test: serve 127.0.0.1:9001 app1 -->  a web server there answers "app1"
//	<!-- guide-test: apply -->           the next fenced block is the whole Terraform configuration: apply it
//	<!-- guide-test: expect http://127.0.0.1:8001/ app1 app2 -->  requests there reach exactly these
//	                                     (host=<name> first sends that Host header; 503 or 403 for a status)
//	<!-- guide-test: expect-cert 127.0.0.1:8443 /etc/haproxy/certs/new.crt -->  a TLS handshake
//	                                     there serves the first certificate of that file
//	<!-- guide-test: destroy -->         terraform destroy
//	<!-- guide-test: reload lb1 -->      dump `show servers state` to lb1's server-state-file, then reload lb1
//	<!-- guide-test: stop lb2 -->        lb2's process ends (an instance goes down)
//	<!-- guide-test: start lb2 -->       lb2 starts again from its configuration (its runtime changes are gone)
//	<!-- guide-test: shell -->           the next fenced block runs as it is, in bash (-euo pipefail)
//	<!-- guide-test: reapply -->         terraform apply of the configuration as it is
//	<!-- guide-test: invoke action.haproxy_server_state.drain -->  terraform apply -invoke=<that action>
//	<!-- guide-test: plan-empty -->      terraform plan shows no change
//	<!-- guide-test: plan-changes -->    terraform plan shows a change
//
// Steps run in the order the guide gives them.
package guides

import (
	"fmt"
	"regexp"
	"strings"
)

// Step is one marked step of a guide.
type Step struct {
	Kind string   // a key of kinds
	Args []string // what follows the kind in the marker
	Body string   // the fenced block that follows (haproxy, file, apply)
	Line int      // the marker's line, 1-based, for errors
}

var marker = regexp.MustCompile(`^<!-- guide-test: (.+?) -->$`)

// withBody are the kinds whose marker is followed by a fenced block, and
// how many arguments each kind takes (-1: one or more).
var kinds = map[string]struct {
	body bool
	args int
}{
	"haproxy":      {true, 1},
	"file":         {true, 1},
	"empty-file":   {false, 1},
	"serve":        {false, 2},
	"apply":        {true, 0},
	"expect":       {false, -1},
	"expect-cert":  {false, 2},
	"destroy":      {false, 0},
	"reload":       {false, 1},
	"stop":         {false, 1},
	"start":        {false, 1},
	"reapply":      {false, 0},
	"shell":        {true, 0},
	"invoke":       {false, 1},
	"plan-empty":   {false, 0},
	"plan-changes": {false, 0},
}

// Parse returns the marked steps of a guide, in order. A marker of an
// unknown kind, with the wrong arguments, or without the fenced block its
// kind needs is an error: a guide whose test silently ran less than it
// shows would prove nothing.
func Parse(md string) ([]Step, error) {
	lines := strings.Split(md, "\n")
	var steps []Step
	for i := 0; i < len(lines); i++ {
		m := marker.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[1])
		if len(fields) == 0 {
			return nil, fmt.Errorf("line %d: guide-test marker without a step", i+1)
		}
		st := Step{Kind: fields[0], Args: fields[1:], Line: i + 1}
		k, ok := kinds[st.Kind]
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: unknown guide-test step %q", st.Line, st.Kind)
		case k.args >= 0 && len(st.Args) != k.args, k.args < 0 && len(st.Args) == 0:
			return nil, fmt.Errorf("line %d: guide-test %s takes %s arguments, got %q", st.Line, st.Kind, argCount(k.args), st.Args)
		}
		if k.body {
			body, end, err := fencedAfter(lines, i+1)
			if err != nil {
				return nil, fmt.Errorf("line %d: guide-test %s: %w", st.Line, st.Kind, err)
			}
			st.Body, i = body, end
		}
		steps = append(steps, st)
	}
	return steps, nil
}

func argCount(n int) string {
	if n < 0 {
		return "one or more"
	}
	return fmt.Sprint(n)
}

// fencedAfter finds the fenced block that starts on the first non-blank
// line from line from, and returns its content and its closing line.
func fencedAfter(lines []string, from int) (body string, end int, err error) {
	i := from
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) || !strings.HasPrefix(lines[i], "```") {
		return "", 0, fmt.Errorf("no fenced block follows the marker")
	}
	for j := i + 1; j < len(lines); j++ {
		if strings.HasPrefix(lines[j], "```") {
			return strings.Join(lines[i+1:j], "\n") + "\n", j, nil
		}
	}
	return "", 0, fmt.Errorf("the fenced block from line %d is not closed", i+1)
}

// Block is one fenced block of a guide.
type Block struct {
	Lang string // what follows the opening fence: terraform, haproxy, shell, …
	Body string
	Line int // the opening fence's line, 1-based
}

// Blocks returns every fenced block of a guide whose language is lang,
// marked as a step or not: the fragments a guide shows without running
// them are still copied by operators.
func Blocks(md, lang string) []Block {
	lines := strings.Split(md, "\n")
	var out []Block
	for i := 0; i < len(lines); i++ {
		l, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			if strings.HasPrefix(lines[j], "```") {
				if strings.TrimSpace(l) == lang {
					out = append(out, Block{Lang: lang, Body: strings.Join(lines[i+1:j], "\n") + "\n", Line: i + 1})
				}
				i = j
				break
			}
		}
	}
	return out
}
