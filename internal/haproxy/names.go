package haproxy

import (
	"path"
	"strings"
)

// ShortNames gives each target (as Transport.String prints it) the shortest
// name that still tells it apart from the others, for messages a human
// reads: the socket file's name (`lb1.sock`), `host:port`, or
// `host/admin.sock` over SSH. Where two short names would be the same, those
// targets get their parent directory too, and failing that their full form.
func ShortNames(targets []string) []string {
	out := make([]string, len(targets))
	for level := 0; level <= 2; level++ {
		names := make([]string, len(targets))
		seen := map[string]int{}
		for i, t := range targets {
			names[i] = shortName(t, level)
			seen[names[i]]++
		}
		done := true
		for i := range targets {
			switch {
			case out[i] != "":
			case seen[names[i]] == 1 || level == 2:
				out[i] = names[i]
			default:
				done = false
			}
		}
		if done {
			break
		}
	}
	return out
}

// shortName is target's name at a level of detail: 0 the file or address
// alone, 1 with the parent directory, 2 the target as written.
func shortName(target string, level int) string {
	if level >= 2 {
		return target
	}
	prefix := ""
	rest := target
	if r, ok := strings.CutPrefix(rest, "master+"); ok {
		prefix, rest = "master+", r
	}
	file := func(p string) string {
		if level == 0 || path.Dir(p) == "/" || path.Dir(p) == "." {
			return path.Base(p)
		}
		return path.Join(path.Base(path.Dir(p)), path.Base(p))
	}
	switch {
	case strings.HasPrefix(rest, "unix://"):
		return prefix + file(strings.TrimPrefix(rest, "unix://"))
	case strings.HasPrefix(rest, "tcp://"), strings.HasPrefix(rest, "tls://"):
		return prefix + rest[len("tcp://"):]
	case strings.HasPrefix(rest, "ssh://"):
		hostPath := rest[len("ssh://"):]
		if _, after, ok := strings.Cut(hostPath, "@"); ok {
			hostPath = after
		}
		host, p, _ := strings.Cut(hostPath, "/")
		return prefix + host + "/" + file("/"+p)
	}
	return target
}
