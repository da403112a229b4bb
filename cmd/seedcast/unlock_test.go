package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnlock(t *testing.T) {
	dl, files, keyFile := createForUnlock(t)
	keyPath := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keyPath, keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	plainDir := t.TempDir()
	out := captureStdout(t)

	code, stderr := runCLI(t, nil, "unlock", "--key-file", keyPath, "-o", plainDir, dl)
	if code != 0 {
		t.Fatalf("unlock: status %d:\n%s", code, stderr)
	}
	for _, rel := range []string{"episode-2.mp4", "extras/making-of.mp4"} {
		got, err := os.ReadFile(filepath.Join(plainDir, "children-of-the-machine", filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(got, files[rel]) {
			t.Errorf("%s: not the plain file (%v)", rel, err)
		}
		if !strings.Contains(out.String(), "  "+rel+"\n") {
			t.Errorf("stdout lacks %s:\n%s", rel, out)
		}
	}
	// Neither the key file's keys nor its path's contents show.
	if bytes.Contains([]byte(stderr+out.String()), []byte(`"key"`)) {
		t.Errorf("key file printed:\n%s%s", stderr, out)
	}

	// Again: the plain files are there.
	code, stderr = runCLI(t, nil, "unlock", "--key-file", keyPath, "-o", plainDir, dl)
	wantFix(t, code, 1, stderr, "exists", "--force (SEEDCAST_FORCE)", "-o (SEEDCAST_OUTPUT)")
	code, stderr = runCLI(t, map[string]string{"SEEDCAST_FORCE": "true", "SEEDCAST_KEY_FILE": keyPath, "SEEDCAST_OUTPUT": plainDir}, "unlock", dl)
	if code != 0 {
		t.Fatalf("unlock with the environment: status %d:\n%s", code, stderr)
	}

	// A key file of another making of the bundle decrypts nothing.
	_, _, otherKeys := createForUnlock(t)
	other := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(other, otherKeys, 0o600)
	code, stderr = runCLI(t, nil, "unlock", "--key-file", other, "-o", t.TempDir(), dl)
	wantFix(t, code, 1, stderr, "does not decrypt", "another making of this one")

	// Not a key file.
	html := filepath.Join(t.TempDir(), "page.html")
	os.WriteFile(html, []byte("<html>"), 0o600)
	code, stderr = runCLI(t, nil, "unlock", "--key-file", html, dl)
	wantFix(t, code, 1, stderr, "not a seedcast key file", "ask the node for the key file again")

	// Both or neither of --key-file and --link.
	code, stderr = runCLI(t, nil, "unlock", dl)
	wantFix(t, code, 2, stderr, "--key-file", "--link")
	code, stderr = runCLI(t, nil, "unlock", "--key-file", keyPath, "--link", "https://films.example.org/u/x", dl)
	wantFix(t, code, 2, stderr, "--key-file", "--link")
}

func TestUnlockLink(t *testing.T) {
	dl, files, keyFile := createForUnlock(t)
	const token = "capability-token-0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://films.example.org/unlock/"+token, http.StatusFound)
			return
		}
		if r.URL.Path != "/unlock/"+token {
			http.Error(w, "expired", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(keyFile)
	}))
	defer srv.Close()
	captureStdout(t)

	plainDir := t.TempDir()
	code, stderr := runCLI(t, nil, "unlock", "--link", srv.URL+"/unlock/"+token, "-o", plainDir, dl)
	if code != 0 {
		t.Fatalf("unlock --link: status %d:\n%s", code, stderr)
	}
	got, err := os.ReadFile(filepath.Join(plainDir, "children-of-the-machine", "episode-2.mp4"))
	if err != nil || !bytes.Equal(got, files["episode-2.mp4"]) {
		t.Errorf("episode-2.mp4 not the plain file (%v)", err)
	}

	// An expired link: the error names the node, not the link's token.
	code, stderr = runCLI(t, nil, "unlock", "--link", srv.URL+"/unlock/old-token-987", "-o", t.TempDir(), dl)
	wantFix(t, code, 1, stderr, "403 Forbidden", "pass the gate on the bundle's page again")
	if strings.Contains(stderr, "old-token-987") {
		t.Errorf("the link's token shows:\n%s", stderr)
	}

	// Plain HTTP to another machine would carry the keys in the clear,
	// whether given or redirected to.
	code, stderr = runCLI(t, nil, "unlock", "--link", srv.URL+"/moved", "-o", t.TempDir(), dl)
	wantFix(t, code, 1, stderr, "redirected to plain http://films.example.org", "--key-file")
	code, stderr = runCLI(t, nil, "unlock", "--link", "http://films.example.org/unlock/"+token, dl)
	wantFix(t, code, 1, stderr, "in the clear", "https://")
}
