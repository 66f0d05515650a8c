package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// What a pre-flight error suggests when a name is not there: the nearest
// backends, and the servers the backend has, with template slots folded
// into their ranges. Pure, so tested as tables.

// closest returns up to n of names near want: within a small edit distance
// (a typo), or one a prefix of the other; nearest first, ties in the order
// given.
func closest(want string, names []string, n int) []string {
	type scored struct {
		name string
		d, i int
	}
	var s []scored
	for i, name := range names {
		w, l := strings.ToLower(want), strings.ToLower(name)
		d := editDistance(w, l)
		if strings.HasPrefix(l, w) || strings.HasPrefix(w, l) {
			d = min(d, 1)
		}
		if d <= max(2, len(want)/3) {
			s = append(s, scored{name, d, i})
		}
	}
	slices.SortFunc(s, func(a, b scored) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.i, b.i)) })
	var out []string
	for _, x := range s[:min(n, len(s))] {
		out = append(out, x.name)
	}
	return out
}

// editDistance is Levenshtein's distance between a and b, in bytes (names
// are HAProxy's charset, ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// serverRanges words a backend's servers for a message: names that end in
// a number are folded by prefix into `websrv1–websrv100` (the slots of a
// server-template), the others listed; at most limit groups, then "…".
func serverRanges(names []string, limit int) string {
	type span struct {
		prefix string
		lo, hi int
		count  int
	}
	spans := map[string]*span{}
	var groups []string // in first-seen order: a prefix, or a plain name
	var order []*span
	for _, name := range names {
		prefix, num, ok := splitNumber(name)
		if !ok {
			groups = append(groups, name)
			order = append(order, nil)
			continue
		}
		sp, seen := spans[prefix]
		if !seen {
			sp = &span{prefix: prefix, lo: num, hi: num}
			spans[prefix] = sp
			groups = append(groups, "")
			order = append(order, sp)
		}
		sp.lo, sp.hi, sp.count = min(sp.lo, num), max(sp.hi, num), sp.count+1
	}
	var out []string
	for i, g := range groups {
		if len(out) == limit {
			out = append(out, "…")
			break
		}
		sp := order[i]
		switch {
		case sp == nil:
			out = append(out, g)
		case sp.count == 1:
			out = append(out, sp.prefix+strconv.Itoa(sp.lo))
		default:
			out = append(out, fmt.Sprintf("%s%d–%s%d", sp.prefix, sp.lo, sp.prefix, sp.hi))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// splitNumber splits "websrv12" into "websrv" and 12.
func splitNumber(name string) (prefix string, num int, ok bool) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) || i == 0 {
		return name, 0, false
	}
	n, err := strconv.Atoi(name[i:])
	return name[:i], n, err == nil
}
