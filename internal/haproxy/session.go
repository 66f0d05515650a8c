package haproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Session is one interactive CLI connection. Unlike Run, which writes a
// whole batch at once (HAProxy then runs every command even after one
// failed), a Session sends a batch, reads its replies, and lets the caller
// decide what to send next, still on the same connection. It is for short
// sequences where a later command must depend on an earlier one's success;
// never hold one open while waiting for anything but HAProxy's replies.
type Session struct {
	c        *Client
	ctx      context.Context
	conn     net.Conn
	pending  string // bytes read past the last complete reply
	prompted bool   // `prompt` was sent
	sent     []string
	reply    strings.Builder
}

// Session opens a connection, runs fn on it and closes it. Errors from fn
// are returned as they are; transport failures are *Error values naming the
// target and the commands sent so far.
func (c *Client) Session(ctx context.Context, fn func(s *Session) error) error {
	select {
	case c.permits <- struct{}{}:
		defer func() { <-c.permits }()
	case <-ctx.Done():
		return &Error{Kind: ErrTimeout, Target: c.Name(), Detail: "waiting for a free connection (the provider opens only a few at a time per socket)", Cause: ctx.Err()}
	}
	c.roundTrips.Add(1)
	start := time.Now()
	conn, err := c.transport.Dial(ctx)
	if err != nil {
		return &Error{Kind: ioKind(ctx, err), Target: c.Name(), Detail: "connect", Cause: err}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { expire(conn) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	s := &Session{c: c, ctx: ctx, conn: conn, pending: c.framing.lead()}
	err = fn(s)
	_, _ = conn.Write([]byte("quit\n"))
	s.observe(start, err)
	return err
}

func (s *Session) observe(start time.Time, err error) {
	if s.c.observe != nil {
		s.c.observe(s.ctx, Exchange{Target: s.c.Target(), Commands: s.sent, Reply: s.reply.String(), Elapsed: time.Since(start), Err: err})
	}
}

// Run sends cmds, waits for all their replies, and returns one entry per
// command: nil for success, else that command's *Error. The second result
// is a transport failure, after which the session is unusable.
func (s *Session) Run(cmds ...Command) ([]error, error) {
	_, each, err := s.run(cmds)
	return each, err
}

// Query sends one command and returns its reply body, or its *Error.
func (s *Session) Query(cmd Command) (string, error) {
	bodies, each, err := s.run([]Command{cmd})
	if err != nil {
		return "", err
	}
	return bodies[0], each[0]
}

// run is Run, with the reply bodies.
func (s *Session) run(cmds []Command) (bodies []string, each []error, err error) {
	lines := make([]string, len(cmds))
	for i, cmd := range cmds {
		if err := checkLine(cmd.line); err != nil {
			return nil, nil, &Error{Kind: ErrInvalidArgument, Target: s.c.Name(), Command: cmd.line, Detail: err.Error()}
		}
		if cmd.payload != "" {
			return nil, nil, &Error{Kind: ErrInvalidArgument, Target: s.c.Name(), Command: cmd.line, Detail: "a command with a payload goes through Run, in a connection of its own"}
		}
		lines[i] = cmd.line
	}
	if len(lines) == 0 {
		return nil, nil, nil
	}
	if n := len(strings.Join(lines, "\n")); n > MaxLineLength {
		return nil, nil, &Error{Kind: ErrInvalidArgument, Target: s.c.Name(), Command: lines[0],
			Detail: fmt.Sprintf("a session batch is %d bytes; the limit is %d", n, MaxLineLength)}
	}
	bodies, err = s.exchange(s.c.framing.lines(lines))
	if err != nil {
		return nil, nil, err
	}
	each = make([]error, len(cmds))
	for i, cmd := range cmds {
		if detail, kind := classify(cmd, bodies[i]); kind != nil {
			each[i] = &Error{Kind: kind, Target: s.c.Name(), Command: cmd.line, Reply: bodies[i], Detail: detail}
		}
	}
	return bodies, each, nil
}

// exchange writes lines and reads until each has its prompt. In prompt mode
// every reply is followed by "\n> ", so the n-th mark ends the n-th reply.
// The first exchange of a session starts with `prompt` (which answers with
// the first prompt and an empty body): one write instead of two.
func (s *Session) exchange(lines []string) ([]string, error) {
	if !s.prompted {
		s.prompted = true
		bodies, err := s.exchange(append([]string{"prompt"}, lines...))
		if err != nil {
			return nil, err
		}
		return bodies[1:], nil
	}
	s.sent = append(s.sent, lines...)
	fail := func(err error, what string) error {
		return &Error{Kind: ioKind(s.ctx, err), Target: s.c.Name(), Command: strings.Join(lines, "; "), Reply: s.pending, Detail: what, Cause: err}
	}
	if _, err := s.conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return nil, fail(err, "write")
	}
	buf := make([]byte, 32*1024)
	mark := s.c.framing.mark()
	for strings.Count(s.pending, mark) < len(lines) {
		n, err := s.conn.Read(buf)
		s.pending += string(buf[:n])
		s.reply.Write(buf[:n])
		if err != nil {
			if strings.Count(s.pending, mark) >= len(lines) {
				break
			}
			return nil, fail(err, fmt.Sprintf("read: the reply was cut short after %d bytes", len(s.pending)))
		}
		if len(s.pending) > maxReply {
			return nil, fail(errors.New("reply too large"), "read")
		}
	}
	bodies := make([]string, len(lines))
	for i := range lines {
		body, rest, _ := strings.Cut(s.pending, mark)
		bodies[i], s.pending = body, rest
	}
	return bodies, nil
}
