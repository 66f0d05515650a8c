package haproxy

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Faults a real HAProxy cannot produce on demand: a socket that accepts and
// never answers, a reply cut off mid-way, and garbage. Everything else is
// tested against a real haproxy in integration_test.go.

func shortSocketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hxf") //nolint:usetesting // t.TempDir() paths overflow the ~100-byte unix socket limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir + "/f.sock"
}

// fakeSocket serves every connection with fn.
func fakeSocket(t *testing.T, fn func(c net.Conn)) Transport {
	t.Helper()
	path := shortSocketPath(t)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); fn(c) }()
		}
	}()
	return unixTransport{path: path}
}

func replyWith(reply string) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte(reply))
	}
}

func TestHungSocketTimesOut(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	c := New(fakeSocket(t, func(c net.Conn) { <-block }))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ServersState(ctx, "app")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %s: the deadline did not bound the read", el)
	}
	if !strings.Contains(err.Error(), c.Target()) || !strings.Contains(err.Error(), "show servers state app") {
		t.Errorf("error does not name socket and command: %v", err)
	}
}

func TestCancelledContextStopsARead(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	c := New(fakeSocket(t, func(c net.Conn) { <-block }))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := c.Version(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout after cancel", err)
	}
}

func TestTruncatedAndGarbledReplies(t *testing.T) {
	full := "\n> 1\n" + header25 + "\n3 app 1 websrv1 127.0.0.1 0 5 1 1 1 1 0 0 14 0 0 0 - 1 - 0 0 - - 0\n\n> "
	cases := map[string]struct {
		reply string
		want  error
	}{
		"cut mid-row":     {full[:len(full)/2], ErrTransport},
		"no final prompt": {full[:len(full)-3], ErrTransport},
		"closed at once":  {"", ErrTransport},
		// Cut within the first prompt: a broken stats socket, not another service.
		"closed after one byte":  {"\n", ErrTransport},
		"closed within a prompt": {"\n>", ErrTransport},
		"help text":              {"\n> Unknown command. Please enter one of the following commands only:\n  help\n\n> ", ErrUnknownCommand},
		"empty data":             {"\n> \n> ", ErrUnexpectedReply},
		"wrong version":          {"\n> 2\n" + header25 + "\n\n> ", ErrUnexpectedReply},
		"ragged rows":            {"\n> 1\n" + header25 + "\n3 app 1 websrv1\n\n> ", ErrUnexpectedReply},
		"binary noise":           {"\x00\xff\xfe garbage", ErrNotStatsSocket},
		"too many prompts":       {"\n> a\n> b\n> c\n> ", ErrTransport},
		// Whatever answers without the prompt did not take `prompt`: it is
		// not a stats socket (an HTTP port, a proxy in front of one).
		"plain mode answer": {"1\n" + header25 + "\n\n", ErrNotStatsSocket},
		"an HTTP port":      {"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\n\r\n<html><body><h1>400 Bad request</h1></body></html>\n", ErrNotStatsSocket},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := New(fakeSocket(t, replyWith(tc.reply)))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			st, err := c.ServersState(ctx, "app")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v (state %+v), want %v", err, st, tc.want)
			}
			if !strings.Contains(err.Error(), c.Target()) {
				t.Errorf("error does not name the socket: %v", err)
			}
		})
	}
}

func TestUnreachableSocket(t *testing.T) {
	c := New(unixTransport{path: shortSocketPath(t)})
	_, err := c.Level(context.Background())
	if !errors.Is(err, ErrTransport) || IsGone(err) {
		t.Fatalf("err = %v, want ErrTransport and not gone", err)
	}
}

func TestConnectionCap(t *testing.T) {
	var active, peak = make(chan int, 1), 0
	active <- 0
	c := New(fakeSocket(t, func(conn net.Conn) {
		n := <-active + 1
		if n > peak {
			peak = n
		}
		active <- n
		buf := make([]byte, 4096)
		_, _ = conn.Read(buf)
		time.Sleep(50 * time.Millisecond)
		_, _ = conn.Write([]byte("\n> admin\n\n> "))
		active <- (<-active - 1)
	}), WithMaxConns(2))
	done := make(chan error)
	for i := 0; i < 6; i++ {
		go func() { _, err := c.Level(context.Background()); done <- err }()
	}
	for i := 0; i < 6; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	<-active
	if peak > 2 {
		t.Fatalf("peak concurrent connections = %d, cap is 2", peak)
	}
}

func TestParseTarget(t *testing.T) {
	ok := map[string]string{
		"unix:///run/haproxy/admin.sock": "unix:///run/haproxy/admin.sock",
		"/run/haproxy/admin.sock":        "unix:///run/haproxy/admin.sock",
		"tcp://127.0.0.1:9999":           "tcp://127.0.0.1:9999",
		"tcp://[::1]:9999":               "tcp://[::1]:9999",
		"tcp://lb1.example:9999":         "tcp://lb1.example:9999",
	}
	for in, want := range ok {
		tr, err := ParseTarget(in)
		if err != nil || tr.String() != want {
			t.Errorf("%q: %v, %v", in, tr, err)
		}
	}
	for _, bad := range []string{"", "run/admin.sock", "unix://run/admin.sock", "tcp://127.0.0.1", "tcp://:99", "http://x:1", "tcp://h:1/x", "ssh://u@h/s"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSessionFaults(t *testing.T) {
	ready, _ := SetServerState("app", "w1", StateReady)
	// `prompt` and the command come in one write: answers the first, then
	// cuts the second reply short.
	cut := New(fakeSocket(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("\n> No such ser"))
	}))
	err := cut.Session(context.Background(), func(s *Session) error {
		_, err := s.Run(ready)
		return err
	})
	if !errors.Is(err, ErrTransport) || !strings.Contains(err.Error(), cut.Target()) {
		t.Fatalf("cut reply: %v", err)
	}

	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	hung := New(fakeSocket(t, func(c net.Conn) { <-block }))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = hung.Session(ctx, func(s *Session) error {
		_, err := s.Run(ready)
		return err
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("hung socket: %v", err)
	}
}
