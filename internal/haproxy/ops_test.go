package haproxy

import (
	"context"
	"net/netip"
	"strings"
)

// One-command conveniences over Run that only tests use: the provider
// builds Commands and runs them in batches and sessions.

// ServersState runs `show servers state [<backend>]`. A missing backend is
// ErrNoSuchBackend.
func (c *Client) ServersState(ctx context.Context, backend string) (*ServersState, error) {
	cmd, err := ShowServersState(backend)
	body, err := c.exec(ctx, cmd, err)
	if err != nil {
		return nil, err
	}
	return c.ParseServersStateReply(cmd, body)
}

// Level returns the socket's privilege level: admin, operator or user.
func (c *Client) Level(ctx context.Context) (string, error) {
	body, err := c.exec(ctx, ShowCLILevel(), nil)
	return strings.TrimSpace(body), err
}

// Version returns HAProxy's version string, e.g. 2.6.12-1+deb12u4.
func (c *Client) Version(ctx context.Context) (string, error) {
	body, err := c.exec(ctx, ShowVersion(), nil)
	return strings.TrimSpace(body), err
}

// SetAddr points a server at addr:port. Confirm with ServersState: HAProxy
// 2.6 can half-apply this command.
func (c *Client) SetAddr(ctx context.Context, backend, server string, addr netip.Addr, port int) error {
	cmd, err := SetServerAddr(backend, server, addr, port)
	_, err = c.exec(ctx, cmd, err)
	return err
}

// SetState sets ready, drain or maint.
func (c *Client) SetState(ctx context.Context, backend, server string, st State) error {
	cmd, err := SetServerState(backend, server, st)
	_, err = c.exec(ctx, cmd, err)
	return err
}

// SetWeight sets an absolute weight (0-256).
func (c *Client) SetWeight(ctx context.Context, backend, server string, weight int) error {
	cmd, err := SetServerWeight(backend, server, weight)
	_, err = c.exec(ctx, cmd, err)
	return err
}

// EnableHealth turns health checks on.
func (c *Client) EnableHealth(ctx context.Context, backend, server string) error {
	cmd, err := EnableHealth(backend, server)
	_, err = c.exec(ctx, cmd, err)
	return err
}

// DisableHealth turns health checks off (this freezes the op state).
func (c *Client) DisableHealth(ctx context.Context, backend, server string) error {
	cmd, err := DisableHealth(backend, server)
	_, err = c.exec(ctx, cmd, err)
	return err
}

// Stat runs `show stat` for the servers of the backend with id backendID.
func (c *Client) Stat(ctx context.Context, backendID int) ([]StatRow, error) {
	cmd, err := ShowStat(backendID)
	body, err := c.exec(ctx, cmd, err)
	if err != nil {
		return nil, err
	}
	rows, err := ParseStat(body)
	return rows, c.parsed(cmd, body, err)
}
