package guides

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSteps(t *testing.T) {
	md := strings.Join([]string{
		"# Guide",
		"<!-- guide-test: haproxy lb1 -->",
		"",
		"```haproxy",
		"global",
		"```",
		"text",
		"<!-- guide-test: serve 127.0.0.1:9001 app1 -->",
		"<!-- guide-test: apply -->",
		"```terraform",
		"provider \"haproxy\" {}",
		"```",
		"<!-- guide-test: expect http://127.0.0.1:8001/ app1 app2 -->",
		"<!-- guide-test: destroy -->",
	}, "\n")
	got, err := Parse(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Kind: "haproxy", Args: []string{"lb1"}, Body: "global\n", Line: 2},
		{Kind: "serve", Args: []string{"127.0.0.1:9001", "app1"}, Line: 8},
		{Kind: "apply", Args: []string{}, Body: "provider \"haproxy\" {}\n", Line: 9},
		{Kind: "expect", Args: []string{"http://127.0.0.1:8001/", "app1", "app2"}, Line: 13},
		{Kind: "destroy", Args: []string{}, Line: 14},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// A marker that cannot be run as written is an error, never a step less.
func TestParseRefusesBrokenMarkers(t *testing.T) {
	for name, md := range map[string]string{
		"unknown kind":   "<!-- guide-test: curl x -->",
		"missing block":  "<!-- guide-test: apply -->\ntext\n```terraform\n```",
		"unclosed block": "<!-- guide-test: haproxy lb1 -->\n```haproxy\nglobal",
		"wrong args":     "<!-- guide-test: serve 127.0.0.1:9001 -->",
		"expect nothing": "<!-- guide-test: expect -->",
	} {
		if _, err := Parse(md); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestBlocksFindsEveryFenceOfALanguage(t *testing.T) {
	md := "text\n```terraform\na = 1\n```\n<!-- guide-test: apply -->\n```terraform\nb = 2\n```\n```shell\nls\n```\n```terraform\n```\n"
	got := Blocks(md, "terraform")
	if len(got) != 3 || got[0].Body != "a = 1\n" || got[0].Line != 2 || got[1].Body != "b = 2\n" || got[2].Body != "\n" {
		t.Fatalf("%+v", got)
	}
	if sh := Blocks(md, "shell"); len(sh) != 1 || sh[0].Body != "ls\n" {
		t.Fatalf("%+v", sh)
	}
}
