package admin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, created, err := LoadToken(dir)
	if err != nil || !created {
		t.Fatalf("first LoadToken: created %v, %v", created, err)
	}
	if err := CheckToken(tok); err != nil || len(tok) < 43 {
		t.Errorf("made token %d characters (%v), want 256 bits of base64url", len(tok), err)
	}
	p := filepath.Join(dir, TokenFile)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode %04o, want 0600", perm)
	}
	again, created, err := LoadToken(dir)
	if err != nil || created || again != tok {
		t.Errorf("second LoadToken: created %v, same %v, %v; want the same token read back", created, again == tok, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	os.Chmod(p, 0o644)
	if _, _, err := LoadToken(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a token file others may read: %v, want an error saying chmod 600", err)
	}
	os.WriteFile(p, []byte("short\n"), 0o600)
	os.Chmod(p, 0o600)
	if _, _, err := LoadToken(dir); err == nil || !strings.Contains(err.Error(), "--admin-token") {
		t.Errorf("a damaged token file: %v, want an error naming --admin-token", err)
	}
}

func TestCheckToken(t *testing.T) {
	for tok, ok := range map[string]bool{
		"abcdefghijklmnop":                   true,
		"abc-def.ghi_jkl~mno+pqr/stu==":      true,
		strings.Repeat("a", 15):              false,
		strings.Repeat("a", maxTokenLen+1):   false,
		"abcdefgh ijklmnop":                  false,
		"abcdefgh\nijklmnop":                 false,
		"abcdefghijklmnop\"":                 false,
		"==========abcdefghijklmnop":         false, // padding only at the end
		strings.Repeat("=", minTokenLen+2):   false,
		"ünïcødé-tøkens-are-not-b64tokens!!": false,
	} {
		if err := CheckToken(tok); (err == nil) != ok {
			t.Errorf("CheckToken(%q) = %v, want ok %v", tok, err, ok)
		}
	}
}
