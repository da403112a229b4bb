package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want []string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "27de2641a2b3"}, {Key: "vcs.modified", Value: "true"},
		}}, []string{"seedcast v1.2.3\n", "commit:   27de2641a2b3+dirty\n", "go:       go1.26.8\n"}},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "27de2641a2b3"}, {Key: "vcs.modified", Value: "false"},
		}}, []string{"seedcast (devel)\n", "commit:   27de2641a2b3\n"}},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, []string{"commit:   unknown (no VCS information"}},
		{nil, []string{"seedcast unknown\n"}},
	} {
		var b bytes.Buffer
		if err := printVersion(&b, readVersion(tc.bi)); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("printed %q, want %q in it", b.String(), w)
			}
		}
	}
}
