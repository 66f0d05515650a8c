package haproxy

import (
	"context"
	"strings"
)

// This file holds one-command conveniences over Run. Callers that want
// several commands in one connection build Commands and call Run directly.

// exec runs one command that was built from caller input: a construction
// error is reported as ErrInvalidArgument naming the target, and nothing is
// sent.
func (c *Client) exec(ctx context.Context, cmd Command, buildErr error) (string, error) {
	if buildErr != nil {
		return "", &Error{Kind: ErrInvalidArgument, Target: c.Name(), Detail: buildErr.Error()}
	}
	bodies, err := c.Run(ctx, cmd)
	if err != nil {
		return "", err
	}
	return bodies[0], nil
}

// parsed wraps a parser failure as ErrUnexpectedReply naming target and command.
func (c *Client) parsed(cmd Command, body string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: ErrUnexpectedReply, Target: c.Name(), Command: cmd.line, Reply: body, Detail: err.Error()}
}

// ParseServersStateReply parses a reply to cmd obtained through Run.
func (c *Client) ParseServersStateReply(cmd Command, body string) (*ServersState, error) {
	st, err := ParseServersState(body)
	return st, c.parsed(cmd, body, err)
}

// StatServer runs `show stat` for one server on a connection of its own;
// found is false when HAProxy reports no row for it with that name.
func (c *Client) StatServer(ctx context.Context, backendID, serverID int, name string) (row StatRow, found bool, err error) {
	err = c.Session(ctx, func(s *Session) error {
		row, found, err = s.StatServer(backendID, serverID, name)
		return err
	})
	return row, found, err
}

// StatServer is Client.StatServer within a session, so that what the row
// shows can decide what the session sends next.
func (s *Session) StatServer(backendID, serverID int, name string) (row StatRow, found bool, err error) {
	cmd, err := ShowStatServer(backendID, serverID)
	if err != nil {
		return row, false, err
	}
	body, err := s.Query(cmd)
	if err != nil {
		return row, false, err
	}
	return s.statRow(cmd, body, serverID, name)
}

// RunThenStat sends cmds and the request for the server's `show stat` row
// in one exchange: the read runs after them whatever they answered (it only
// reads). each is every command's outcome, as Run gives it.
func (s *Session) RunThenStat(cmds []Command, backendID, serverID int, name string) (each []error, row StatRow, found bool, err error) {
	stat, err := ShowStatServer(backendID, serverID)
	if err != nil {
		return nil, row, false, err
	}
	bodies, all, err := s.run(append(cmds[:len(cmds):len(cmds)], stat))
	if err != nil {
		return nil, row, false, err
	}
	each = all[:len(cmds)]
	if e := all[len(cmds)]; e != nil {
		return each, row, false, e
	}
	row, found, err = s.statRow(stat, bodies[len(cmds)], serverID, name)
	return each, row, found, err
}

// statRow finds the server's row in a `show stat` reply.
func (s *Session) statRow(cmd Command, body string, serverID int, name string) (row StatRow, found bool, err error) {
	rows, err := ParseStat(body)
	if err = s.c.parsed(cmd, body, err); err != nil {
		return row, false, err
	}
	for _, r := range rows {
		if r.ServerID == serverID && r.Server == name {
			return r, true, nil
		}
	}
	return row, false, nil
}

// Info returns `show info` as a map.
func (c *Client) Info(ctx context.Context) (map[string]string, error) {
	cmd := ShowInfo()
	body, err := c.exec(ctx, cmd, nil)
	if err != nil {
		return nil, err
	}
	info, err := ParseInfo(body)
	return info, c.parsed(cmd, body, err)
}

// PatternRefs runs `show map` or `show acl` and parses the listing.
func (c *Client) PatternRefs(ctx context.Context, kind PatternKind) ([]PatternRefInfo, error) {
	cmd, err := ShowPatternRefs(kind)
	body, err := c.exec(ctx, cmd, err)
	if err != nil {
		return nil, err
	}
	refs, err := ParsePatternRefs(body)
	return refs, c.parsed(cmd, body, err)
}

// Patterns runs `show map|acl <ref>` and parses the current entries.
func (c *Client) Patterns(ctx context.Context, p PatternRef) ([]Entry, error) {
	cmd, err := ShowPatterns(p)
	body, err := c.exec(ctx, cmd, err)
	if err != nil {
		return nil, err
	}
	entries, err := ParseEntries(p.Kind, body)
	return entries, c.parsed(cmd, body, err)
}

// Backends runs `show backend` and returns the backend names, in the order
// HAProxy lists them (2.6 to 3.4: a `# name` header, then a name a line).
func (c *Client) Backends(ctx context.Context) ([]string, error) {
	cmd := ShowBackends()
	body, err := c.exec(ctx, cmd, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(body, "\n")[1:] {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names, nil
}
