// Package poll is the one way the provider waits for HAProxy: ask, and if
// the answer is not yet the one wanted, pause and ask again, until it is, a
// deadline passes, or the caller gives up. Every wait (an address showing,
// sessions draining, a health check passing, a server becoming removable)
// shares its rule for pacing and deadlines, and runs on a Clock the caller
// supplies, so tests can run a wait on virtual time and assert its bound.
package poll

import (
	"context"
	"errors"
	"time"
)

// Clock is the time a wait runs on.
type Clock interface {
	Now() time.Time
	// Sleep pauses for d, or until ctx ends (returning its error).
	Sleep(ctx context.Context, d time.Duration) error
}

// Wall is the real clock.
func Wall() Clock { return wall{} }

type wall struct{}

func (wall) Now() time.Time { return time.Now() }

func (wall) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pace is the pause between tries: First, doubled after each try up to
// Max. A Max not above First keeps the pause at First.
type Pace struct {
	First, Max time.Duration
}

// Every is a constant pause.
func Every(d time.Duration) Pace { return Pace{First: d, Max: d} }

func (p Pace) next(cur time.Duration) time.Duration {
	if p.Max <= p.First {
		return p.First
	}
	return min(2*cur, p.Max)
}

// ErrDeadline says the deadline passed and the last try still was not done.
var ErrDeadline = errors.New("the wait's deadline passed")

// Until calls try until it reports done (nil), fails (its error), ctx ends
// (ctx's error) or the deadline has passed (ErrDeadline). try runs at once,
// then after each pause; no pause runs past the deadline, so the last try
// is made at the deadline: a wait never gives up on an answer it did not
// ask for. The caller keeps what try last saw to word its own error.
func Until(ctx context.Context, clk Clock, deadline time.Time, pace Pace, try func() (done bool, err error)) error {
	pause := pace.First
	for {
		done, err := try()
		switch {
		case err != nil:
			return err
		case done:
			return nil
		case !clk.Now().Before(deadline):
			return ErrDeadline
		}
		if err := clk.Sleep(ctx, min(pause, deadline.Sub(clk.Now()))); err != nil {
			return err
		}
		pause = pace.next(pause)
	}
}

// Ticker tells, at most every period of clk's time, where a long wait
// stands: the waits that can last minutes (a drain, a health check) report
// through it.
type Ticker struct {
	clk    Clock
	period time.Duration
	last   time.Time
	tell   func(string)
}

// NewTicker reports through tell (nil: never) every period from now.
func NewTicker(clk Clock, period time.Duration, tell func(string)) *Ticker {
	return &Ticker{clk: clk, period: period, last: clk.Now(), tell: tell}
}

// Maybe tells msg() when a period has passed since it last told.
func (t *Ticker) Maybe(msg func() string) {
	if t.tell == nil {
		return
	}
	if now := t.clk.Now(); now.Sub(t.last) >= t.period {
		t.last = now
		t.tell(msg())
	}
}

// For is Until on the wall clock at a steady pace, for a wait that only
// asks yes or no (the test helpers' waits for a process, a socket or a
// session): it reports whether done said yes before limit had passed.
func For(limit, every time.Duration, done func() bool) bool {
	return Until(context.Background(), Wall(), time.Now().Add(limit), Every(every), func() (bool, error) { return done(), nil }) == nil
}
