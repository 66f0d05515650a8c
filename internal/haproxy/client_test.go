package haproxy

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// slowDial makes every connection to a real HAProxy take delay to open.
type slowDial struct {
	Transport
	delay time.Duration
}

func (s slowDial) Dial(ctx context.Context) (net.Conn, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Transport.Dial(ctx)
}

// EachConnectionWithin bounds each connection of a batch on its own: a
// batch of several connections may take longer than the bound in all, as
// long as each connection answers within it; a connection that does not
// answer still fails within the bound, whatever else the context allows.
// Without it, a call's only bound is its context's deadline (a `wait`
// command may need longer than any one batch connection).
func TestEachConnectionWithinBoundsEachConnection(t *testing.T) {
	inst := haproxytest.Start(t)
	direct, err := ParseTarget(inst.UnixTarget())
	if err != nil {
		t.Fatal(err)
	}
	const bound, delay = 400 * time.Millisecond, 150 * time.Millisecond
	c := New(slowDial{direct, delay})
	ctx := EachConnectionWithin(context.Background(), bound)
	var cmds []Command
	for size := 0; size < 4*MaxLineLength; { // more than four connections
		cmd, err := SetServerWeight("app", "websrv1", 1+len(cmds)%100)
		if err != nil {
			t.Fatal(err)
		}
		cmds, size = append(cmds, cmd), size+len(cmd.String())+1
	}
	start := time.Now()
	each, err := c.RunEach(ctx, cmds...)
	if err != nil || errors.Join(each...) != nil {
		t.Fatalf("a batch of connections each within the bound: %v %v", err, errors.Join(each...))
	}
	if trips, took := c.RoundTrips(), time.Since(start); trips < 4 || took < bound {
		t.Fatalf("%d connections in %s: the batch did not outlast one bound, so it proved nothing", trips, took)
	}

	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	hung := New(fakeSocket(t, func(net.Conn) { <-block }))
	done := make(chan error, 1)
	go func() { _, err := hung.ServersState(ctx, "app"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("hung socket: err = %v, want ErrTimeout", err)
		}
	case <-time.After(10 * bound):
		t.Fatal("a hung socket was not bounded by EachConnectionWithin")
	}
}
