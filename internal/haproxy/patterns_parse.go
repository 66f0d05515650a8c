package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// PatternRefInfo is one line of `show map` / `show acl`.
type PatternRefInfo struct {
	ID      int
	File    string // "" for a list declared inline in the configuration
	CurrVer uint64 // the version traffic sees
	NextVer uint64 // the newest prepared version
	Entries int    // entry_cnt: every version's entries, committed or not
}

// ParsePatternRefs parses `show map` / `show acl`:
//
//	# id (file) description
//	2 (/etc/haproxy/hosts.map) pattern loaded from file '…' used by map at file '…' line 13. curr_ver=0 next_ver=0 entry_cnt=2
func ParsePatternRefs(body string) ([]PatternRefInfo, error) {
	lines := strings.Split(strings.TrimRight(withoutSeverity(body), "\n"), "\n")
	if len(lines) == 0 || lines[0] != "# id (file) description" {
		return nil, fmt.Errorf("missing the `# id (file) description` header")
	}
	var out []PatternRefInfo
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		id, rest, ok := strings.Cut(l, " (")
		n, err := strconv.Atoi(id)
		file, rest2, ok2 := strings.Cut(rest, ") ")
		if !ok || !ok2 || err != nil {
			return nil, fmt.Errorf("cannot read map line %q", l)
		}
		info := PatternRefInfo{ID: n, File: file}
		for _, f := range strings.Fields(rest2) {
			k, v, _ := strings.Cut(f, "=")
			var perr error
			switch k {
			case "curr_ver":
				info.CurrVer, perr = strconv.ParseUint(v, 10, 64)
			case "next_ver":
				info.NextVer, perr = strconv.ParseUint(v, 10, 64)
			case "entry_cnt":
				info.Entries, perr = strconv.Atoi(v)
			}
			if perr != nil {
				return nil, fmt.Errorf("cannot read %s in map line %q", k, l)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// FindPatternRef returns the reference ref names (a file name or #id).
func FindPatternRef(refs []PatternRefInfo, ref string) (PatternRefInfo, bool) {
	for _, r := range refs {
		if ref == "#"+strconv.Itoa(r.ID) || r.File != "" && r.File == ref {
			return r, true
		}
	}
	return PatternRefInfo{}, false
}

// ParseEntries parses `show map <ref>` (`0x<ptr> <key> <value>`) or `show
// acl <ref>` (`0x<ptr> <pattern>`), in HAProxy's order, duplicates kept.
// A map line splits at its first space after the pointer: keys written
// through this package never hold a space, and a value is the rest of the
// line, as in a map file.
func ParseEntries(kind PatternKind, body string) ([]Entry, error) {
	var out []Entry
	for _, l := range strings.Split(strings.TrimRight(withoutSeverity(body), "\n"), "\n") {
		if l == "" {
			continue
		}
		ptr, rest, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(ptr, "0x") {
			return nil, fmt.Errorf("cannot read %s entry %q", kind, l)
		}
		if kind == KindACL {
			out = append(out, Entry{Key: rest})
			continue
		}
		k, v, _ := strings.Cut(rest, " ")
		out = append(out, Entry{Key: k, Value: v})
	}
	return out, nil
}
