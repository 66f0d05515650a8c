package haproxytest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// SSHD is a real OpenSSH server on a loopback port, with its own host key,
// one authorized client key and its own config, stopped by PID when the
// test ends. Stream-local forwarding reaches the unix sockets of this
// machine, as it would reach a load balancer's.
type SSHD struct {
	Addr       string // 127.0.0.1:port
	User       string // the user the tests run as
	ClientKey  string // private key file (OpenSSH PEM) whose public key is authorized
	KnownHosts string // known_hosts holding the server's real host key
	// WrongKnownHosts lists another key for the same address (a changed
	// host key); EmptyKnownHosts lists nothing (an unknown host).
	WrongKnownHosts string
	EmptyKnownHosts string
	// OtherKey is a valid private key that is not authorized.
	OtherKey string
}

// Target is the ssh:// provider target for a unix socket path.
func (s *SSHD) Target(path string) string {
	return fmt.Sprintf("ssh://%s@%s%s", s.User, s.Addr, path)
}

// StartSSHD runs sshd for t. Without sshd the test is skipped, unless CI is
// set: then it fails.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	bin, err := exec.LookPath("sshd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/sshd", "/sbin/sshd"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sshd is not installed but CI is set: install openssh-server; remote-access tests must not be skipped in CI")
		}
		t.Skip("sshd not installed; run `make test`, which installs it")
	}
	// sshd refuses to start without its privilege separation directory.
	_ = os.MkdirAll("/run/sshd", 0o755)

	dir, err := os.MkdirTemp("/tmp", "hxs") //nolint:usetesting // short paths, as for the unix sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHD{
		Addr: FreeAddr(t), User: me.Username,
		ClientKey: filepath.Join(dir, "client_key"), OtherKey: filepath.Join(dir, "other_key"),
		KnownHosts: filepath.Join(dir, "known_hosts"), WrongKnownHosts: filepath.Join(dir, "wrong_known_hosts"),
		EmptyKnownHosts: filepath.Join(dir, "empty_known_hosts"),
	}
	hostKey := writeSSHKey(t, filepath.Join(dir, "host_key"))
	clientKey := writeSSHKey(t, s.ClientKey)
	writeSSHKey(t, s.OtherKey)
	wrongHost := writeSSHKey(t, filepath.Join(dir, "wrong_host_key"))
	writeFile(t, filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientKey))
	host, port, _ := net.SplitHostPort(s.Addr)
	knownAs := fmt.Sprintf("[%s]:%s", host, port)
	writeFile(t, s.KnownHosts, []byte(knownAs+" "+string(ssh.MarshalAuthorizedKey(hostKey))))
	writeFile(t, s.WrongKnownHosts, []byte(knownAs+" "+string(ssh.MarshalAuthorizedKey(wrongHost))))
	writeFile(t, s.EmptyKnownHosts, nil)
	cfg := filepath.Join(dir, "sshd_config")
	writeFile(t, cfg, []byte(fmt.Sprintf(`ListenAddress %s
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowStreamLocalForwarding yes
# OpenSSH 9.2 denies stream-local forwarding unless AllowTcpForwarding is
# yes or local (no, remote or PermitOpen none deny it too).
AllowTcpForwarding local
UsePAM no
StrictModes no
LogLevel ERROR
`, s.Addr, filepath.Join(dir, "host_key"), filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"))))

	var log bytes.Buffer
	cmd := exec.Command(bin, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = &log, &log
	// sshd forks a process per connection: its own process group lets the
	// cleanup stop them all, and WaitDelay keeps a child that still holds
	// the log pipe from blocking it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	exited := false
	listening := poll.For(5*time.Second, 20*time.Millisecond, func() bool {
		if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return true
		}
		select {
		case <-done:
			exited = true
			return true
		default:
			return false
		}
	})
	switch {
	case exited:
		t.Fatalf("haproxytest: sshd exited: %s", log.String())
	case !listening:
		t.Fatalf("haproxytest: sshd did not listen on %s: %s", s.Addr, log.String())
	}
	return s
}

// writeSSHKey writes a new ed25519 private key in OpenSSH format and returns
// its public key.
func writeSSHKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, pem.EncodeToMemory(block))
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
