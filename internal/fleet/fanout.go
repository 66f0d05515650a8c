package fleet

import (
	"context"
	"fmt"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// answer is one socket's part of a fan-out.
type answer[T any] struct {
	c       *haproxy.Client
	v       T
	skipped error // non-nil: unreachable, and the fleet goes on without it
}

// gather asks every socket at once and sorts the answers: the result has
// one answer per socket in configuration order. A socket that cannot be
// reached is skipped when the fleet was told to (SkipUnreachable) and
// skippable is true; any other failure makes err an Errors naming every
// failed socket. When every socket was skipped, err says none answered.
func gather[T any](ctx context.Context, f *Fleet, skippable bool, fn func(ctx context.Context, c *haproxy.Client) (T, error)) ([]answer[T], error) {
	type result struct {
		v   T
		err error
	}
	results := each(ctx, f, func(ctx context.Context, c *haproxy.Client) result {
		v, err := fn(ctx, c)
		return result{v, err}
	})
	out := make([]answer[T], len(results))
	var failed, skipped Errors
	for i, r := range results {
		out[i] = answer[T]{c: f.clients[i], v: r.v}
		switch {
		case r.err == nil:
		case skippable && f.skipUnreachable && unreachable(r.err):
			out[i].skipped = r.err
			skipped = append(skipped, SocketError{f.clients[i].Name(), r.err})
		default:
			failed = append(failed, SocketError{f.clients[i].Name(), r.err})
		}
	}
	if len(failed) > 0 {
		return out, failed
	}
	if len(skipped) == len(out) {
		return out, fmt.Errorf("no HAProxy socket could be reached:\n%w", skipped)
	}
	return out, nil
}

// skippedOf lists the sockets a fan-out skipped, with why.
func skippedOf[T any](answers []answer[T]) Errors {
	var out Errors
	for _, a := range answers {
		if a.skipped != nil {
			out = append(out, SocketError{a.c.Name(), a.skipped})
		}
	}
	return out
}

// skipWarnings words each skipped socket as a warning; then says what that
// means for the operation at hand.
func skipWarnings(skipped Errors, then string) []string {
	out := make([]string, len(skipped))
	for i, se := range skipped {
		out[i] = fmt.Sprintf("%s could not be reached and was skipped%s: %v", se.Socket, then, se.Err)
	}
	return out
}
