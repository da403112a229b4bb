package infohash

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const hexIH = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		in   string
		want string // "" for an error
	}{
		{hexIH, hexIH},
		{strings.ToUpper(hexIH), hexIH},
		{hexIH[:39], ""},
		{hexIH + "0", ""},
		{"zz23456789abcdef0123456789abcdef01234567", ""},
		{"", ""},
		{strings.Repeat("a", 1000), ""},
	} {
		h, err := Parse(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%.50q) = %v, %v; want ErrSyntax", tc.in, h, err)
			}
			if err != nil && len(err.Error()) > 120 {
				t.Errorf("Parse(%.50q): error of %d bytes: a long input must not make a long error", tc.in, len(err.Error()))
			}
			continue
		}
		if err != nil || h.String() != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %s", tc.in, h, err, tc.want)
		}
	}
}

func TestJSON(t *testing.T) {
	h, _ := Parse("0123456789abcdef0123456789abcdef01234567")
	b, err := json.Marshal(map[string]Hash{"ih": h})
	if err != nil || string(b) != `{"ih":"0123456789abcdef0123456789abcdef01234567"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back map[string]Hash
	if err := json.Unmarshal(b, &back); err != nil || back["ih"] != h {
		t.Fatalf("Unmarshal = %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"ih":"nothex"}`), &back); !errors.Is(err, ErrSyntax) {
		t.Fatalf("Unmarshal of a bad hash: %v, want ErrSyntax", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0123456789abcdef0123456789abcdef01234567", "", "g", strings.Repeat("F", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(h.String(), s) {
			t.Fatalf("Parse(%q).String() = %q", s, h.String())
		}
	})
}
