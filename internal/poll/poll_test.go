package poll

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

var start = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func TestUntilBacksOffAndStopsWhenDone(t *testing.T) {
	clk := NewManual(start)
	tries := 0
	err := Until(context.Background(), clk, start.Add(time.Minute), Pace{First: 2 * time.Millisecond, Max: 10 * time.Millisecond}, func() (bool, error) {
		tries++
		return tries == 5, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tries != 5 {
		t.Fatalf("tries = %d, want 5", tries)
	}
	want := []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond, 10 * time.Millisecond}
	if got := clk.Slept(); !reflect.DeepEqual(got, want) {
		t.Fatalf("pauses = %v, want %v", got, want)
	}
}

// The last try is made at the deadline, not a pause before it: the wait
// never gives up on an answer it did not ask for, and never waits past it.
func TestUntilTriesAtTheDeadlineThenGivesUp(t *testing.T) {
	clk := NewManual(start)
	deadline := start.Add(time.Second)
	var asked []time.Duration
	err := Until(context.Background(), clk, deadline, Every(300*time.Millisecond), func() (bool, error) {
		asked = append(asked, clk.Now().Sub(start))
		return false, nil
	})
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
	want := []time.Duration{0, 300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond, time.Second}
	if !reflect.DeepEqual(asked, want) {
		t.Fatalf("tried at %v, want %v", asked, want)
	}
	if now := clk.Now(); now != deadline {
		t.Fatalf("the wait ended at %v, past its deadline %v", now.Sub(start), time.Second)
	}
}

func TestUntilTriesOnceWhenTheDeadlineHasPassed(t *testing.T) {
	clk := NewManual(start)
	tries := 0
	err := Until(context.Background(), clk, start.Add(-time.Second), Every(time.Millisecond), func() (bool, error) {
		tries++
		return false, nil
	})
	if !errors.Is(err, ErrDeadline) || tries != 1 {
		t.Fatalf("err = %v after %d tries, want ErrDeadline after 1", err, tries)
	}
}

func TestUntilStopsOnTheFirstError(t *testing.T) {
	clk := NewManual(start)
	boom := errors.New("socket closed")
	tries := 0
	err := Until(context.Background(), clk, start.Add(time.Hour), Every(time.Second), func() (bool, error) {
		tries++
		if tries == 3 {
			return false, boom
		}
		return false, nil
	})
	if !errors.Is(err, boom) || tries != 3 {
		t.Fatalf("err = %v after %d tries, want the try's error after 3", err, tries)
	}
}

func TestUntilEndsWithItsContext(t *testing.T) {
	clk := NewManual(start)
	ctx, cancel := context.WithCancel(context.Background())
	tries := 0
	err := Until(ctx, clk, start.Add(time.Hour), Every(time.Second), func() (bool, error) {
		tries++
		if tries == 2 {
			cancel()
		}
		return false, nil
	})
	if !errors.Is(err, context.Canceled) || tries != 2 {
		t.Fatalf("err = %v after %d tries, want context.Canceled after 2", err, tries)
	}
}

// The wall clock's Sleep ends with its context, not after the pause.
func TestWallSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	begun := time.Now()
	if err := Wall().Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(begun) > time.Minute {
		t.Fatal("slept through a cancelled context")
	}
}

func TestTickerTellsOncePerPeriod(t *testing.T) {
	clk := NewManual(start)
	var told []string
	tk := NewTicker(clk, 2*time.Second, func(s string) { told = append(told, s) })
	for i := range 10 { // 0 s … 4.5 s
		tk.Maybe(func() string { return clk.Now().Sub(start).String() })
		if i < 9 {
			clk.Advance(500 * time.Millisecond)
		}
	}
	if want := []string{"2s", "4s"}; !reflect.DeepEqual(told, want) {
		t.Fatalf("told %v, want %v", told, want)
	}
	NewTicker(clk, 0, nil).Maybe(func() string { t.Fatal("a ticker with no one to tell built its message"); return "" })
}

func TestForSaysWhetherDoneCameInTime(t *testing.T) {
	n := 0
	if !For(time.Second, time.Millisecond, func() bool { n++; return n == 3 }) || n != 3 {
		t.Fatalf("For gave up, or asked %d times for an answer that came on the 3rd", n)
	}
	begin := time.Now()
	if For(30*time.Millisecond, 5*time.Millisecond, func() bool { return false }) {
		t.Fatal("For said yes to a wait that never ended")
	}
	if el := time.Since(begin); el < 30*time.Millisecond {
		t.Fatalf("For gave up after %s, before its limit", el)
	}
}
