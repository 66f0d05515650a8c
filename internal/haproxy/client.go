package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultMaxConns is how many connections one Client opens at once. The CLI
// of a whole HAProxy process takes ten connections, shared by all its sockets, and
// Terraform runs ten operations in parallel: three leaves room for operators
// and for other instances of the provider.
const DefaultMaxConns = 3

// maxReply bounds what we read from one connection (a `show stat` of a very
// large configuration is a few MB).
const maxReply = 64 << 20

// Exchange describes one connection's round trip, for logging.
type Exchange struct {
	Target   string
	Commands []string
	Reply    string
	Elapsed  time.Duration
	Err      error
}

// Observer is told about every round trip. The provider logs through it; this
// package stays free of any logging framework.
type Observer func(ctx context.Context, ex Exchange)

// Client talks to one HAProxy CLI socket. It is safe for concurrent use.
type Client struct {
	transport  Transport
	framing    framing
	permits    chan struct{} // one per connection allowed at a time
	observe    Observer
	roundTrips atomic.Uint64
	name       string
}

// Option configures a Client.
type Option func(*Client)

// WithMaxConns caps concurrent connections to the target (minimum 1).
func WithMaxConns(n int) Option {
	return func(c *Client) {
		if n < 1 {
			n = 1
		}
		c.permits = make(chan struct{}, n)
	}
}

// WithName sets the name errors call the target by (default: the target as
// written); see ShortNames.
func WithName(name string) Option { return func(c *Client) { c.name = name } }

// WithObserver sets a hook that sees every command and reply.
func WithObserver(o Observer) Option { return func(c *Client) { c.observe = o } }

// New returns a client for one target.
func New(t Transport, opts ...Option) *Client {
	c := &Client{transport: t, framing: framingOf(t), permits: make(chan struct{}, DefaultMaxConns)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Target is the socket this client talks to, as configured: the key under
// which anything about this socket is recorded.
func (c *Client) Target() string { return c.transport.String() }

// Name is what messages call the socket: WithName's, or Target.
func (c *Client) Name() string {
	if c.name != "" {
		return c.name
	}
	return c.Target()
}

// RoundTrips counts the connections this client has made (for benchmarks
// and for tests that check reads are shared).
func (c *Client) RoundTrips() uint64 { return c.roundTrips.Load() }

// Run sends commands over one connection, in order, and checks each reply
// against what that command may answer. It returns every reply body, and an
// error joining one *Error per command that failed.
//
// HAProxy runs every command of a batch even when an earlier one failed, so
// callers put in one batch only commands that are safe to run regardless
// (for example a write followed by the read that confirms it).
func (c *Client) Run(ctx context.Context, cmds ...Command) ([]string, error) {
	bodies, each, err := c.run(ctx, cmds)
	if err != nil {
		return nil, err
	}
	return bodies, errors.Join(each...)
}

// RunEach is Run for callers that act on each command's outcome: it returns
// one entry per command (nil for success, else that command's *Error), and
// a separate error when the exchange itself failed.
func (c *Client) RunEach(ctx context.Context, cmds ...Command) ([]error, error) {
	_, each, err := c.run(ctx, cmds)
	return each, err
}

func (c *Client) run(ctx context.Context, cmds []Command) (bodies []string, each []error, err error) {
	if len(cmds) == 0 {
		return nil, nil, nil
	}
	lines := make([]string, len(cmds))
	for i, cmd := range cmds {
		if err := checkLine(cmd.line); err != nil {
			return nil, nil, &Error{Kind: ErrInvalidArgument, Target: c.Name(), Command: cmd.line, Detail: err.Error()}
		}
		switch {
		case cmd.payload != "" && len(cmds) > 1:
			// HAProxy's buffer must hold the whole payload: alone, it fits.
			return nil, nil, &Error{Kind: ErrInvalidArgument, Target: c.Name(), Command: cmd.line, Detail: "a command with a payload goes in a connection of its own"}
		case cmd.payload != "" && c.framing.prefix != "":
			return nil, nil, &Error{Kind: ErrInvalidArgument, Target: c.Name(), Command: cmd.line, Detail: "a payload through the master CLI is not supported (not verified); use the worker's stats socket"}
		}
		lines[i] = cmd.wire()
	}
	for _, chunk := range chunkLines(lines, MaxLineLength) {
		got, err := c.boundedRoundTrip(ctx, chunk)
		if err != nil {
			return nil, nil, err
		}
		bodies = append(bodies, got...)
	}
	each = make([]error, len(cmds))
	for i, cmd := range cmds {
		if detail, kind := classify(cmd, bodies[i]); kind != nil {
			each[i] = &Error{Kind: kind, Target: c.Name(), Command: cmd.line, Reply: bodies[i], Detail: detail}
		}
		bodies[i] = withoutSeverity(bodies[i]) // errors above keep the raw reply
	}
	return bodies, each, nil
}

// chunkLines splits a batch so that no single write exceeds limit bytes: a
// long batch then becomes several short connections, in order.
func chunkLines(lines []string, limit int) [][]string {
	var out [][]string
	start, size := 0, 0
	for i, l := range lines {
		if i > start && size+len(l)+1 > limit {
			out = append(out, lines[start:i])
			start, size = i, 0
		}
		size += len(l) + 1
	}
	return append(out, lines[start:])
}

// Interactive ("prompt") mode is used because it frames every reply,
// including the 2.6 messages that lack a trailing newline, and because a
// reply cut short then shows up as a missing prompt instead of a plausible
// short answer. framing.go says how each kind of CLI marks the replies.

// perConnection is the context key of EachConnectionWithin.
type perConnection struct{}

// EachConnectionWithin makes every connection of a call bounded by d on its
// own (waiting for a permit, dial, write and read), within whatever ctx
// allows. A long batch is split into several connections (see chunkLines):
// bounding the batch as a whole made its time per command shrink as batches
// grew, and HAProxy's cost per `add server` grows with the backend. It is
// for batches: a call that must outlast d on one connection (a `wait`
// command) passes a longer deadline in ctx instead.
func EachConnectionWithin(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, perConnection{}, d)
}

// boundedRoundTrip is roundTrip within EachConnectionWithin's bound.
func (c *Client) boundedRoundTrip(ctx context.Context, lines []string) ([]string, error) {
	if d, ok := ctx.Value(perConnection{}).(time.Duration); ok && d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	return c.roundTrip(ctx, lines)
}

// roundTrip writes `prompt`, the lines and `quit` in a single write (HAProxy
// closes a non-interactive connection as soon as its input is empty, so
// lines must never trickle in), reads to EOF and splits the replies.
func (c *Client) roundTrip(ctx context.Context, lines []string) ([]string, error) {
	start := time.Now()
	shown := make([]string, len(lines))
	for i, l := range lines {
		shown[i] = withoutPayload(l)
	}
	sent := strings.Join(shown, "; ")
	if len(lines) > 3 { // a long batch (a map's entries): name where it starts
		sent = fmt.Sprintf("%s; … (%d commands in this connection)", shown[0], len(lines))
	}
	reply, ioErr := c.exchange(ctx, "prompt\n"+strings.Join(c.framing.lines(lines), "\n")+"\nquit\n")
	var bodies []string
	var err error
	if ioErr != nil {
		ioErr.Command = sent
		err = ioErr
	} else if whole := c.framing.whole(reply); reply != "" && !strings.HasPrefix(whole, c.framing.mark()) && !strings.HasPrefix(c.framing.mark(), whole) {
		// A stats socket answers `prompt` with its prompt before anything
		// else; whatever answered here speaks another protocol. A reply cut
		// within that first prompt is a broken connection, not that.
		err = &Error{Kind: ErrNotStatsSocket, Target: c.Name(), Command: sent, Reply: reply,
			Detail: "it answered, but without the CLI prompt (an HTTP port or another service?); `sockets` must name a `stats socket` of haproxy.cfg"}
	} else if bodies, err = splitPromptReply(whole, len(lines), c.framing.mark()); err != nil {
		err = &Error{Kind: ErrTransport, Target: c.Name(), Command: sent, Reply: reply, Detail: err.Error()}
	}
	if c.observe != nil {
		c.observe(ctx, Exchange{Target: c.Target(), Commands: shown, Reply: reply, Elapsed: time.Since(start), Err: err})
	}
	return bodies, err
}

// withoutPayload is a command as logs and errors show it: a payload (a
// certificate and its private key) is never shown, only its size.
func withoutPayload(wire string) string {
	line, payload, ok := strings.Cut(wire, "\n")
	if !ok {
		return line
	}
	return fmt.Sprintf("%s (payload of %d bytes, not shown)", line, len(payload))
}

func splitPromptReply(reply string, n int, mark string) ([]string, error) {
	parts := strings.Split(reply, mark)
	// parts[0] precedes the prompt that `prompt` itself prints; the last part
	// follows the prompt after the last command and must be empty (`quit`
	// prints nothing).
	if len(parts) != n+2 || parts[0] != "" || parts[n+1] != "" {
		got := len(parts) - 2
		if got < 0 {
			got = 0
		}
		if len(parts) < n+2 || parts[len(parts)-1] != "" {
			return nil, fmt.Errorf("reply was cut short: %d of %d command replies arrived complete", min(got, n), n)
		}
		return nil, fmt.Errorf("reply is not framed as expected (%d prompts for %d commands)", len(parts)-1, n+1)
	}
	return parts[1 : n+1], nil
}

// expire makes a connection's pending I/O fail now: by a deadline in the
// past, or, where deadlines are not supported (SSH channels), by closing it.
func expire(conn net.Conn) {
	if conn.SetDeadline(time.Unix(1, 0)) != nil {
		_ = conn.Close()
	}
}

// ioKind tells a timeout (deadline or cancellation) from other I/O failures.
func ioKind(ctx context.Context, err error) error {
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	return ErrTransport
}

// exchange does the I/O: one connection, one write, read to EOF. The
// context's deadline covers all three, and cancellation closes the socket.
func (c *Client) exchange(ctx context.Context, payload string) (string, *Error) {
	fail := func(kind error, detail string, cause error) *Error {
		return &Error{Kind: kind, Target: c.Name(), Detail: detail, Cause: cause}
	}

	select {
	case c.permits <- struct{}{}:
		defer func() { <-c.permits }()
	case <-ctx.Done():
		return "", fail(ErrTimeout, "waiting for a free connection (the provider opens only a few at a time per socket)", ctx.Err())
	}

	c.roundTrips.Add(1)
	conn, err := c.transport.Dial(ctx)
	if err != nil {
		return "", fail(ioKind(ctx, err), "connect", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { expire(conn) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}

	if _, err := io.WriteString(conn, payload); err != nil {
		return "", fail(ioKind(ctx, err), "write", err)
	}
	buf, err := io.ReadAll(io.LimitReader(conn, maxReply+1))
	if err != nil {
		return string(buf), fail(ioKind(ctx, err), fmt.Sprintf("read (after %d bytes)", len(buf)), err)
	}
	if len(buf) > maxReply {
		return "", fail(ErrUnexpectedReply, fmt.Sprintf("reply larger than %d bytes", maxReply), nil)
	}
	return string(buf), nil
}
