package pool

import (
	"net/netip"
	"testing"
)

// The token a created pool derives from its configuration, no socket.
func TestTokenIsTheConfigurations(t *testing.T) {
	members := map[string]Member{"a": {Addr: netip.MustParseAddr("127.0.0.3"), Port: 80}, "b": {Addr: netip.MustParseAddr("127.0.0.4"), Port: 80}}
	tok := TokenFor("app", "websrv", members)
	if again := TokenFor("app", "websrv", map[string]Member{"b": members["b"], "a": members["a"]}); again != tok {
		t.Errorf("the same configuration gives %s and %s", tok, again)
	}
	b := tok.Addr().As4()
	if b[0] != 127 || b[1] == 0 || tok.Port() < 1024 {
		t.Errorf("token %s is not in 127.1-255.x.x with a port >= 1024", tok)
	}
	other := map[string]Member{"a": members["a"], "b": {Addr: members["b"].Addr, Port: 81}}
	for name, t2 := range map[string]netip.AddrPort{
		"another port":    TokenFor("app", "websrv", other),
		"another prefix":  TokenFor("app", "web", members),
		"another backend": TokenFor("api", "websrv", members),
	} {
		if t2 == tok {
			t.Errorf("%s gives the same token %s", name, tok)
		}
	}
}
