package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// Maps and ACLs are both "pattern references" in HAProxy: a list loaded from
// a file (or declared inline) that runtime commands edit in memory. The same
// verbs exist for both, spelt `map` or `acl`; a map entry has a value, an
// ACL entry has only its pattern. Replies below were read on 2.6.12 and
// 3.4.7, where they are identical.

// PatternKind says which family of commands a reference is edited with.
type PatternKind string

// The two kinds.
const (
	KindMap PatternKind = "map"
	KindACL PatternKind = "acl"
)

// Limits on what a runtime pattern command may carry. HAProxy has none of
// its own below the CLI's line buffer, but every line we send must stay
// within MaxLineLength: a versioned add is about 20 bytes plus the
// reference, the key and the value, so these keep it there.
const (
	MaxPatternRefLength   = 1024
	MaxPatternKeyLength   = 1024
	MaxPatternValueLength = 4096
)

// ValidatePatternRef accepts `#<id>` or a file name as HAProxy lists it
// in `show map` / `show acl`. Either way it is one CLI word.
func ValidatePatternRef(ref string) error {
	if strings.HasPrefix(ref, "#") {
		if _, err := strconv.ParseUint(ref[1:], 10, 32); err != nil {
			return fmt.Errorf("%q is not a map identifier: after # HAProxy expects the numeric id `show map` lists", ref)
		}
		return nil
	}
	if ref == "" {
		return fmt.Errorf("the map or ACL file name is empty")
	}
	return checkWord("file name", ref, MaxPatternRefLength)
}

// ValidatePatternKey accepts a map key or an ACL pattern.
func ValidatePatternKey(key string) error {
	if key == "" {
		return fmt.Errorf("the key is empty")
	}
	return checkWord("key", key, MaxPatternKeyLength)
}

// ValidatePatternValue accepts a map value.
func ValidatePatternValue(v string) error {
	if v == "" {
		return fmt.Errorf("the value is empty; HAProxy's `add map` needs one")
	}
	return checkWord("value", v, MaxPatternValueLength)
}

// checkWord accepts printable ASCII without spaces, `;` and `\`. The CLI
// splits a line into words at spaces and into commands at `;`, and treats
// `\` as an escape: on 2.6 and 3.4 `set map <m> k a b` silently sets "a"
// and drops the rest, and `show map` prints key and value separated by one
// space, so a key with a space could not be read back. Quotes have no
// meaning to the CLI (verified on both) and pass as themselves.
func checkWord(what, s string, limit int) error {
	if len(s) > limit {
		return fmt.Errorf("the %s is %d bytes long; the limit is %d", what, len(s), limit)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == ';' || c == '\\' {
			return fmt.Errorf("the %s %q contains %s at byte %d; HAProxy's CLI would split or alter it (allowed: printable ASCII without spaces, `;` and `\\`)",
				what, s, strconv.QuoteRune(rune(c)), i)
		}
	}
	return nil
}

// PatternRef names one map or ACL.
type PatternRef struct {
	Kind PatternKind
	Ref  string // file name or #id
}

func (p PatternRef) String() string { return string(p.Kind) + " " + p.Ref }

func checkKind(k PatternKind) error {
	if k != KindMap && k != KindACL {
		return invalid(fmt.Errorf("unknown pattern kind %q", k))
	}
	return nil
}

func (p PatternRef) check() error {
	if err := checkKind(p.Kind); err != nil {
		return err
	}
	if err := ValidatePatternRef(p.Ref); err != nil {
		return invalid(err)
	}
	return nil
}

// Entry is one map entry (Key and Value) or one ACL pattern (Key only).
type Entry struct {
	Key   string
	Value string
}

func (p PatternRef) entryWords(e Entry) (string, error) {
	if err := ValidatePatternKey(e.Key); err != nil {
		return "", invalid(err)
	}
	if p.Kind == KindACL {
		if e.Value != "" {
			return "", invalid(fmt.Errorf("an ACL pattern has no value"))
		}
		return e.Key, nil
	}
	if err := ValidatePatternValue(e.Value); err != nil {
		return "", invalid(err)
	}
	return e.Key + " " + e.Value, nil
}

// patternFailure is the kind of a reply any pattern command may give, or nil.
func patternFailure(msg string) error {
	switch {
	case msg == "Unknown map identifier. Please use #<id> or <file>.",
		msg == "Unknown ACL identifier. Please use #<id> or <file>.":
		return ErrNoSuchMap
	case msg == "Version number out of range.":
		return ErrNoSuchVersion
	case strings.HasPrefix(msg, "'") && strings.Contains(msg, "' expects "):
		return ErrInvalidArgument
	}
	return nil
}

// emptyPatternReply is success as silence, with the pattern failures named.
func emptyPatternReply(msg string) (string, error) {
	if kind := patternFailure(msg); kind != nil {
		return "", kind
	}
	if msg == "" {
		return "", nil
	}
	return "expected an empty reply", ErrUnexpectedReply
}

// ShowPatternRefs builds `show map` or `show acl`: every reference of that
// kind with its id, file and versions (ParsePatternRefs).
func ShowPatternRefs(kind PatternKind) (Command, error) {
	if err := checkKind(kind); err != nil {
		return Command{}, err
	}
	return Command{line: "show " + string(kind), reply: dataReply("# id (file) description\n")}, nil
}

// ShowPatterns builds `show map <ref>` / `show acl <ref>`: the current
// version's entries (ParseEntries). An empty map answers nothing.
func ShowPatterns(p PatternRef) (Command, error) {
	if err := p.check(); err != nil {
		return Command{}, err
	}
	return Command{line: "show " + string(p.Kind) + " " + p.Ref, reply: func(msg string) (string, error) {
		if kind := patternFailure(msg); kind != nil {
			return "", kind
		}
		if msg == "" || strings.HasPrefix(msg, "0x") {
			return "", nil
		}
		return "expected entries starting with 0x", ErrUnexpectedReply
	}}, nil
}

// PreparePatterns builds `prepare map|acl <ref>`, which opens an empty new
// version (ParseVersion reads its number) that stays invisible to traffic
// until it is committed.
func PreparePatterns(p PatternRef) (Command, error) {
	if err := p.check(); err != nil {
		return Command{}, err
	}
	return Command{line: "prepare " + string(p.Kind) + " " + p.Ref, reply: func(msg string) (string, error) {
		if kind := patternFailure(msg); kind != nil {
			return "", kind
		}
		if _, err := ParseVersion(msg); err != nil {
			return err.Error(), ErrUnexpectedReply
		}
		return "", nil
	}}, nil
}

// ParseVersion reads `New version created: N`.
func ParseVersion(reply string) (uint64, error) {
	n, ok := strings.CutPrefix(strings.TrimRight(withoutSeverity(reply), "\n"), "New version created: ")
	if !ok {
		return 0, fmt.Errorf("expected \"New version created: <n>\"")
	}
	return strconv.ParseUint(n, 10, 32)
}

func versioned(verb string, p PatternRef, version uint64) string {
	return verb + " " + string(p.Kind) + " @" + strconv.FormatUint(version, 10) + " " + p.Ref
}

// AddToVersion builds `add map|acl @<version> <ref> <key> [<value>]`.
func AddToVersion(p PatternRef, version uint64, e Entry) (Command, error) {
	if err := p.check(); err != nil {
		return Command{}, err
	}
	words, err := p.entryWords(e)
	if err != nil {
		return Command{}, err
	}
	return Command{line: versioned("add", p, version) + " " + words, reply: emptyPatternReply}, nil
}

// CommitVersion builds `commit map|acl @<version> <ref>`: the version's
// entries become the reference's whole content at once and the older ones
// are purged.
func CommitVersion(p PatternRef, version uint64) (Command, error) {
	if err := p.check(); err != nil {
		return Command{}, err
	}
	return Command{line: versioned("commit", p, version), reply: emptyPatternReply}, nil
}

// ClearVersion builds `clear map|acl @<version> <ref>`: it drops an
// uncommitted version's entries (an abandoned replacement).
func ClearVersion(p PatternRef, version uint64) (Command, error) {
	if err := p.check(); err != nil {
		return Command{}, err
	}
	return Command{line: versioned("clear", p, version), reply: emptyPatternReply}, nil
}

// AddEntry builds `add map|acl <ref> <key> [<value>]`. HAProxy adds a
// duplicate when the key exists; callers check first.
func AddEntry(p PatternRef, e Entry) (Command, error) {
	if err := p.check(); err != nil {
		return Command{}, err
	}
	words, err := p.entryWords(e)
	if err != nil {
		return Command{}, err
	}
	return Command{line: "add " + string(p.Kind) + " " + p.Ref + " " + words, reply: emptyPatternReply}, nil
}

// SetEntry builds `set map <ref> <key> <value>` (every entry of that key).
func SetEntry(p PatternRef, e Entry) (Command, error) {
	if p.Kind != KindMap {
		return Command{}, invalid(fmt.Errorf("only map entries have a value to set"))
	}
	if err := p.check(); err != nil {
		return Command{}, err
	}
	words, err := p.entryWords(e)
	if err != nil {
		return Command{}, err
	}
	return Command{line: "set map " + p.Ref + " " + words, reply: func(msg string) (string, error) {
		if msg == "entry not found." {
			return "", ErrNoSuchEntry
		}
		return emptyPatternReply(msg)
	}}, nil
}

// DelEntry builds `del map|acl <ref> <key>` (every entry of that key).
func DelEntry(p PatternRef, key string) (Command, error) {
	if err := p.check(); err != nil {
		return Command{}, err
	}
	if err := ValidatePatternKey(key); err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "del " + string(p.Kind) + " " + p.Ref + " " + key, reply: func(msg string) (string, error) {
		if msg == "Key not found." {
			return "", ErrNoSuchEntry
		}
		return emptyPatternReply(msg)
	}}, nil
}
