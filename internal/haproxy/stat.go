package haproxy

import (
	"encoding/csv"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// StatRow is the part of a `show stat` server row the provider needs: live
// sessions, which `show servers state` does not carry, and the address, which
// a one-server `show stat` reads at a cost that does not grow with the
// backend.
type StatRow struct {
	Proxy    string
	ProxyID  int // iid
	Server   string
	ServerID int    // sid
	Sessions int    // scur
	Status   string // e.g. UP, DOWN, MAINT, DRAIN, "UP 1/3"
	// Addr is the `addr` column (`127.0.0.1:80`, `[::1]:80`); invalid when
	// the column is missing or empty.
	Addr netip.AddrPort
}

// ParseStat parses `show stat` CSV by its `# pxname,…` header. Rows for
// frontends and backends (svname FRONTEND/BACKEND) are skipped.
func ParseStat(body string) ([]StatRow, error) {
	body = strings.TrimRight(body, "\n")
	if !strings.HasPrefix(body, "# ") {
		return nil, fmt.Errorf("stat: missing `# ` header")
	}
	r := csv.NewReader(strings.NewReader(body[2:]))
	r.FieldsPerRecord = 0 // every row as wide as the header
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	col := map[string]int{}
	for i, name := range records[0] {
		col[name] = i
	}
	for _, name := range []string{"pxname", "iid", "svname", "scur", "status"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("stat: required column %q is missing", name)
		}
	}
	var out []StatRow
	for _, rec := range records[1:] {
		sv := rec[col["svname"]]
		if sv == "FRONTEND" || sv == "BACKEND" {
			continue
		}
		scur, err := strconv.Atoi(rec[col["scur"]])
		if err != nil || scur < 0 {
			return nil, fmt.Errorf("stat: %s/%s: scur %q is not a count", rec[col["pxname"]], sv, rec[col["scur"]])
		}
		iid, err := strconv.Atoi(rec[col["iid"]])
		if err != nil {
			return nil, fmt.Errorf("stat: %s/%s: iid %q is not a number", rec[col["pxname"]], sv, rec[col["iid"]])
		}
		row := StatRow{Proxy: rec[col["pxname"]], ProxyID: iid, Server: sv, Sessions: scur, Status: rec[col["status"]]}
		if i, ok := col["sid"]; ok {
			row.ServerID, _ = strconv.Atoi(rec[i])
		}
		if i, ok := col["addr"]; ok {
			row.Addr, _ = netip.ParseAddrPort(rec[i])
		}
		out = append(out, row)
	}
	return out, nil
}

// ParseInfo parses `show info` ("Key: value" lines) into a map.
func ParseInfo(body string) (map[string]string, error) {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			if strings.HasSuffix(line, ":") { // a key with an empty value
				out[strings.TrimSuffix(line, ":")] = ""
				continue
			}
			return nil, fmt.Errorf("info: line %q is not `Key: value`", shorten(line, 60))
		}
		out[k] = v
	}
	if out["Name"] == "" {
		return nil, fmt.Errorf("info: no Name field")
	}
	return out, nil
}
