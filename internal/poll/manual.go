package poll

import (
	"context"
	"sync"
	"time"
)

// Manual is a clock whose time moves only when told: Sleep moves it on by
// the pause at once, so a wait of an hour runs in microseconds and every
// pause it took can be checked. It is for tests.
type Manual struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

// NewManual starts a manual clock at start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now is the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Sleep moves the clock on by d (unless ctx has ended) and records d.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slept = append(m.slept, d)
	m.now = m.now.Add(d)
	return nil
}

// Advance moves the clock on by d, as time passing outside any wait.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
}

// Slept lists every pause taken so far, in order.
func (m *Manual) Slept() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Duration(nil), m.slept...)
}
