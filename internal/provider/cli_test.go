package provider

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
)

// cli is the real terraform command (or tofu) run in a directory of its
// own against this checkout's build: for what the acceptance framework
// cannot show (warnings, -refresh-only, -replace) or do (kill a run).
type cli struct {
	t   *testing.T
	dir string
	log string   // the provider's DEBUG log of runs made with start
	env []string // added to every command's environment
}

const cliHeader = "terraform {\n  required_providers {\n    haproxy = { source = \"haproxy-runtime/haproxy\" }\n  }\n}\n"

func newCLI(t *testing.T, cfg string) *cli {
	t.Helper()
	work := localbuild.Use(t, "../..")
	c := &cli{t: t, dir: filepath.Join(work, "tf"), log: filepath.Join(work, "provider.log")}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.write(cfg)
	return c
}

// write replaces the configuration (the provider requirement is added).
func (c *cli) write(cfg string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, "main.tf"), []byte(cliHeader+cfg), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// writeFile writes another file of the configuration (a .tfquery.hcl).
func (c *cli) writeFile(name, content string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, name), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// readFile reads a file the run wrote (generated configuration).
func (c *cli) readFile(name string) string {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

func (c *cli) command(args ...string) *exec.Cmd {
	cmd := exec.Command(localbuild.Terraform(), append(args, "-no-color")...)
	cmd.Dir = c.dir
	if c.env != nil {
		cmd.Env = append(os.Environ(), c.env...)
	}
	return cmd
}

// run runs one command and returns its output and exit code.
func (c *cli) run(args ...string) (string, int) {
	out, err := c.command(args...).CombinedOutput()
	return string(out), c.exitCode(args, err)
}

// exitCode is a finished command's exit code (-1 when a signal ended it);
// a command that could not run or be waited for fails the test, never
// passes for a success.
func (c *cli) exitCode(args []string, err error) int {
	c.t.Helper()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		c.t.Fatalf("%s %s: %v", localbuild.Terraform(), strings.Join(args, " "), err)
	}
	return 0
}

// must runs one command that has to succeed.
func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("%s %s: exit %d\n%s", localbuild.Terraform(), strings.Join(args, " "), code, out)
	}
	return out
}

// mustPlanEmpty fails unless a plan finds nothing to change.
func (c *cli) mustPlanEmpty(why string) {
	c.t.Helper()
	if out, code := c.run("plan", "-detailed-exitcode"); code != 0 {
		c.t.Fatalf("%s: the plan should be empty (exit %d):\n%s", why, code, out)
	}
}

// killDuring starts a command and kills the whole process group
// (terraform and its plugin, as when a CI runner dies) with SIGKILL as soon
// as the provider's log contains mark: so the kill lands during the socket
// work mark names.
func (c *cli) killDuring(mark string, args ...string) {
	c.t.Helper()
	c.whenLogged(mark, func(pgid int) {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
			c.t.Fatal(err)
		}
	}, args...)
	// A killed local run leaves its lock note behind; the lock itself went
	// with the process.
	_ = os.Remove(filepath.Join(c.dir, ".terraform.tfstate.lock.info"))
}

// whenLogged starts a command in a process group of its own, with the
// provider logging at DEBUG, calls do with the group's id as soon as the
// provider's log contains mark, and returns the command's output and exit
// code once it ends. A command that ends before logging mark fails the
// test: what do stands for could not land.
func (c *cli) whenLogged(mark string, do func(pgid int), args ...string) (string, int) {
	c.t.Helper()
	_ = os.Remove(c.log)
	cmd := c.command(args...)
	cmd.Env = slices.Concat(os.Environ(), c.env, []string{"TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH=" + c.log})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-done:
			c.t.Fatalf("%v ended (%v) before the provider logged %q:\n%s", args, err, mark, out.String())
		case <-deadline:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			c.t.Fatalf("the provider never logged %q", mark)
		case <-time.After(20 * time.Millisecond):
		}
		if log, _ := os.ReadFile(c.log); strings.Contains(string(log), mark) {
			break
		}
	}
	do(cmd.Process.Pid)
	code := c.exitCode(args, <-done)
	return out.String(), code
}

// slowSocket is a TCP proxy in front of an HAProxy socket that, while
// slow, holds every new connection for a while before passing it on: a slow
// instance, so that a kill timed from the provider's log lands while the
// run still has socket work to do (not after Terraform saved what it did).
type slowSocket struct {
	Target   string // what to configure
	delay    atomic.Int64
	inflight sync.WaitGroup // connections accepted and not yet finished
}

func newSlowSocket(t *testing.T, upstream string, delay time.Duration) *slowSocket {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	s := &slowSocket{Target: "tcp://" + l.Addr().String()}
	s.delay.Store(int64(delay))
	go func() {
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			s.inflight.Add(1)
			go func() {
				defer s.inflight.Done()
				defer down.Close()
				time.Sleep(time.Duration(s.delay.Load()))
				up, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(upstream)))
				if err != nil {
					return
				}
				defer func() { _ = up.Close() }()
				go func() { _, _ = io.Copy(up, down); _ = up.CloseWrite() }()
				_, _ = io.Copy(down, up)
			}()
		}
	}()
	return s
}

// fast stops holding connections, and returns once the connections it held
// have been passed on and answered: a killed run's command, still held,
// would otherwise reach HAProxy in the middle of the next run.
func (s *slowSocket) fast() {
	s.delay.Store(0)
	s.inflight.Wait()
}

// expectUnsaved fails unless the state lists exactly want (nothing: the
// killed run saved nothing): a kill that came after Terraform saved the
// run's work would make the test prove nothing.
func (c *cli) expectUnsaved(want ...string) {
	c.t.Helper()
	out, code := c.run("state", "list")
	got := strings.Fields(out)
	switch {
	case code != 0 && strings.Contains(out, "No state file was found"):
		got = nil
	case code != 0:
		c.t.Fatalf("state list: exit %d\n%s", code, out)
	}
	if !slices.Equal(got, want) {
		c.t.Fatalf("after the kill the state lists %v, want %v: the kill landed too late and the test proves nothing", got, want)
	}
}
