package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Runtime certificates on every socket, two-phase: a certificate is served
// everywhere or nowhere. Pre-flight every socket; open a transaction on
// every one (`set ssl cert`) and read it back; commit only once every
// socket holds the new certificate in its transaction, else abort every
// transaction this call opened. HAProxy allows one certificate transaction
// per process (see haproxy/ssl.go), so a transaction another writer left
// open is reported, never written over (one holding this very certificate,
// left by a killed run of this write, is taken over), and this provider
// process sends one certificate write at a time per socket.

// Certificate is what one store must serve on every socket.
type Certificate struct {
	File string
	PEM  string // the certificate, its chain and its private key
	// SHA1 is the leaf certificate's fingerprint as HAProxy prints it
	// (upper-case hex), to read each transaction back against.
	SHA1   string
	Create bool // a store HAProxy does not have is created (`new ssl cert`)
}

// SocketCert is one socket's view of a store.
type SocketCert struct {
	Socket  string
	Name    string
	Cert    haproxy.SSLCert
	Missing bool // HAProxy there has no such store
}

// CertOutcome says where a certificate was committed.
type CertOutcome struct {
	Committed []string // sockets, as configured
	Failed    Errors   // commits that failed after every socket held the transaction
	Skipped   Errors   // unreachable and skipped (unreachable_sockets = warn)
}

// certLocks serialises certificate writes per socket in this process: one
// transaction per HAProxy process.
var certLocks sync.Map // socket → *sync.Mutex

func certLock(socket string) *sync.Mutex {
	m, _ := certLocks.LoadOrStore(socket, &sync.Mutex{})
	mu, _ := m.(*sync.Mutex) // only *sync.Mutex is ever stored
	return mu
}

// ReadCertificate reads the store on every socket.
func (f *Fleet) ReadCertificate(ctx context.Context, file string) ([]SocketCert, Errors, error) {
	cmd, err := haproxy.ShowSSLCert(file, false)
	if err != nil {
		return nil, nil, err
	}
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) (SocketCert, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		sc := SocketCert{Socket: c.Target(), Name: c.Name()}
		bodies, err := c.Run(ctx, cmd)
		switch {
		case errors.Is(err, haproxy.ErrNoSuchCert):
			sc.Missing = true
			return sc, nil
		case err != nil:
			return sc, err
		}
		sc.Cert, err = haproxy.ParseSSLCert(bodies[0])
		if err != nil {
			return sc, fmt.Errorf("%s: %q: %w", c.Name(), cmd, err)
		}
		return sc, nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []SocketCert
	for _, a := range answers {
		if a.skipped == nil {
			out = append(out, a.v)
		}
	}
	return out, skippedOf(answers), nil
}

// certTarget is one socket pre-flight found ready for the write.
type certTarget struct {
	c       *haproxy.Client
	missing bool // the store must be created first
	skipped error
}

// preflightCert checks every socket before anything is written: level
// admin, no certificate transaction open (whoever opened it), and the store
// exists (or may be created).
func (f *Fleet) preflightCert(ctx context.Context, cert Certificate) ([]certTarget, error) {
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) (bool, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		bodies, err := c.Run(ctx, haproxy.ShowCLILevel(), haproxy.ShowSSLCerts())
		if err != nil {
			return false, err
		}
		if level := strings.TrimSpace(bodies[0]); level != "admin" {
			return false, fmt.Errorf("%s: the socket's level is %s; changing a certificate needs level admin", c.Name(), level)
		}
		stores, err := haproxy.ParseSSLStores(bodies[1])
		if err != nil {
			return false, fmt.Errorf("%s: `show ssl cert`: %w", c.Name(), err)
		}
		if stores.Transaction != "" && !f.ownTransaction(ctx, c, stores.Transaction, cert) {
			return false, fmt.Errorf("%s: a certificate transaction is open on %s (another tool, or a run that was killed; HAProxy allows one per process): "+
				"nothing was written; commit or abort it there (`abort ssl cert %s`), then apply again", c.Name(), stores.Transaction, stores.Transaction)
		}
		for _, file := range stores.Files {
			if file == cert.File {
				return false, nil
			}
		}
		if !cert.Create {
			return true, fmt.Errorf("%s: HAProxy has no certificate store %s (`show ssl cert` lists %s): set create = true to add it, or name the file a `crt` line loads",
				c.Name(), cert.File, strings.Join(stores.Files, ", "))
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]certTarget, len(answers))
	for i, a := range answers {
		out[i] = certTarget{c: a.c, missing: a.v, skipped: a.skipped}
	}
	return out, nil
}

// ownTransaction reports whether the transaction open on file holds cert
// itself: a run killed between its set and its commit left it, and the
// write goes on over it (the set updates it) instead of asking for a hand
// abort. Any other transaction is someone else's.
func (f *Fleet) ownTransaction(ctx context.Context, c *haproxy.Client, file string, cert Certificate) bool {
	show, err := haproxy.ShowSSLCert(file, true)
	if err != nil || file != cert.File || cert.SHA1 == "" {
		return false
	}
	bodies, err := c.Run(ctx, show)
	if err != nil {
		return false
	}
	held, err := haproxy.ParseSSLCert(bodies[0])
	return err == nil && strings.EqualFold(held.SHA1, cert.SHA1)
}

// PreflightCertificate is SetCertificate's pre-flight alone, read-only, for
// a plan to promise only what apply can do. warnings name sockets skipped.
func (f *Fleet) PreflightCertificate(ctx context.Context, cert Certificate) (warnings []string, err error) {
	targets, err := f.preflightCert(ctx, cert)
	if err != nil {
		return nil, err
	}
	var skipped Errors
	for _, t := range targets {
		if t.skipped != nil {
			skipped = append(skipped, SocketError{t.c.Name(), t.skipped})
		}
	}
	return skipWarnings(skipped, ""), nil
}

// SetCertificate puts cert on every socket, two-phase (see above). An error
// means nothing was committed anywhere, except when the commits themselves
// failed on some sockets after others succeeded: those are in Failed.
func (f *Fleet) SetCertificate(ctx context.Context, cert Certificate) (CertOutcome, error) {
	var out CertOutcome
	sockets := f.Sockets()
	slices.Sort(sockets) // one order for every writer: two never deadlock
	for _, s := range slices.Compact(sockets) {
		m := certLock(s)
		m.Lock()
		defer m.Unlock()
	}
	targets, err := f.preflightCert(ctx, cert)
	if err != nil {
		return out, fmt.Errorf("nothing was written: %w", err)
	}
	for _, t := range targets {
		if t.skipped != nil {
			out.Skipped = append(out.Skipped, SocketError{t.c.Name(), t.skipped})
		}
	}
	set, setErr := haproxy.SetSSLCert(cert.File, cert.PEM)
	show, showErr := haproxy.ShowSSLCert(cert.File, true)
	commit, commitErr := haproxy.CommitSSLCert(cert.File)
	abort, abortErr := haproxy.AbortSSLCert(cert.File)
	if err := errors.Join(setErr, showErr, commitErr, abortErr); err != nil {
		return out, err
	}
	opened := make([]bool, len(targets))
	created := make([]bool, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		if t.skipped != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			opened[i], created[i], errs[i] = f.openCert(ctx, t, cert, set, show)
		}()
	}
	wg.Wait()
	if failed := socketErrors(targets, errs); len(failed) > 0 {
		return out, fmt.Errorf("nothing was committed (%s): %w", f.undoCert(ctx, targets, opened, created, cert.File, abort), failed)
	}
	errs = f.onCertTargets(targets, opened, func(_ int, c *haproxy.Client) error {
		ctx, cancel := f.op(ctx)
		defer cancel()
		_, err := c.Run(ctx, commit)
		return err
	})
	for i, t := range targets {
		switch {
		case !opened[i]:
		case errs[i] != nil:
			out.Failed = append(out.Failed, SocketError{t.c.Name(), errs[i]})
		default:
			out.Committed = append(out.Committed, t.c.Target())
		}
	}
	return out, nil
}

// openCert opens the transaction on one socket (creating the store first
// where asked) and reads it back: the transaction must hold this
// certificate (HAProxy 2.6 can put a set into another file's transaction).
// created says the store was made here, for an undo to remove it.
func (f *Fleet) openCert(ctx context.Context, t certTarget, cert Certificate, set, show haproxy.Command) (opened, created bool, err error) {
	ctx, cancel := f.op(ctx)
	defer cancel()
	if t.missing {
		create, err := haproxy.NewSSLCert(cert.File)
		if err != nil {
			return false, false, err
		}
		switch _, err := t.c.Run(ctx, create); {
		case err == nil:
			created = true
		case !errors.Is(err, haproxy.ErrAlreadyExists):
			return false, false, err
		}
	}
	if _, err := t.c.Run(ctx, set); err != nil {
		return false, created, err
	}
	bodies, err := t.c.Run(ctx, show)
	if err != nil {
		return true, created, err
	}
	got, err := haproxy.ParseSSLCert(bodies[0])
	if err != nil {
		return true, created, fmt.Errorf("%s: %q: %w", t.c.Name(), show, err)
	}
	if !strings.EqualFold(got.SHA1, cert.SHA1) {
		return true, created, fmt.Errorf("%s: the transaction of %s holds the certificate %s, not the one sent (%s)", t.c.Name(), cert.File, got.SHA1, cert.SHA1)
	}
	return true, created, nil
}

// undoCert aborts every transaction this write opened and removes every
// store it created (a created store's transaction is aborted first, in
// case a set reached HAProxy before its connection broke), so that a
// failed write changes nothing. It says what it undid, and what it could
// not undo, in words for the error.
func (f *Fleet) undoCert(ctx context.Context, targets []certTarget, opened, created []bool, file string, abort haproxy.Command) string {
	del, err := haproxy.DelSSLCert(file)
	if err != nil {
		return err.Error()
	}
	touched := make([]bool, len(targets))
	for i := range targets {
		touched[i] = opened[i] || created[i]
	}
	errs := f.onCertTargets(targets, touched, func(i int, c *haproxy.Client) error {
		ctx, cancel := f.op(ctx)
		defer cancel()
		if _, err := c.Run(ctx, abort); err != nil && opened[i] {
			return err
		}
		if created[i] {
			if _, err := c.Run(ctx, del); err != nil && !errors.Is(err, haproxy.ErrNoSuchCert) {
				return fmt.Errorf("the empty store it created is left there: %w", err)
			}
		}
		return nil
	})
	if left := socketErrors(targets, errs); len(left) > 0 {
		return "undoing it failed: " + left.Error()
	}
	if slices.Contains(created, true) {
		return "every transaction opened was aborted, every store created removed"
	}
	return "every transaction opened was aborted"
}

// onCertTargets runs fn concurrently on the sockets where sel is true.
func (f *Fleet) onCertTargets(targets []certTarget, sel []bool, fn func(i int, c *haproxy.Client) error) []error {
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		if !sel[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, t.c)
		}()
	}
	wg.Wait()
	return errs
}

func socketErrors(targets []certTarget, errs []error) Errors {
	var out Errors
	for i, err := range errs {
		if err != nil {
			out = append(out, SocketError{targets[i].c.Name(), err})
		}
	}
	return out
}

// ReadCertificates reads every certificate store on every socket (`show ssl
// cert`, then each store's certificate, in one connection per socket). An
// empty store (created, never filled) serves nothing and is left out.
func (f *Fleet) ReadCertificates(ctx context.Context) ([]SocketCert, Errors, error) {
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) ([]SocketCert, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		bodies, err := c.Run(ctx, haproxy.ShowSSLCerts())
		if err != nil {
			return nil, err
		}
		stores, err := haproxy.ParseSSLStores(bodies[0])
		if err != nil {
			return nil, fmt.Errorf("%s: `show ssl cert`: %w", c.Name(), err)
		}
		var cmds []haproxy.Command
		for _, file := range stores.Files {
			cmd, err := haproxy.ShowSSLCert(file, false)
			if err != nil {
				return nil, fmt.Errorf("%s: store %q: %w", c.Name(), file, err)
			}
			cmds = append(cmds, cmd)
		}
		if len(cmds) == 0 {
			return nil, nil
		}
		if bodies, err = c.Run(haproxy.EachConnectionWithin(ctx, f.timeout), cmds...); err != nil {
			return nil, err
		}
		var out []SocketCert
		for i, body := range bodies {
			sc := SocketCert{Socket: c.Target(), Name: c.Name()}
			if sc.Cert, err = haproxy.ParseSSLCert(body); err != nil {
				return nil, fmt.Errorf("%s: %q: %w", c.Name(), cmds[i], err)
			}
			if sc.Cert.Status != "Empty" { // `new ssl cert`, not filled yet: nothing served
				out = append(out, sc)
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []SocketCert
	for _, a := range answers {
		out = append(out, a.v...)
	}
	return out, skippedOf(answers), nil
}
