package httperr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrorf(t *testing.T) {
	err := Errorf(http.StatusNotFound, "no file %q: %w", "a.mp4", fs.ErrNotExist)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Errorf returned %T, want *Error", err)
	}
	if e.Code != http.StatusNotFound || e.Msg != `no file "a.mp4": file does not exist` {
		t.Errorf("Errorf: code %d, message %q", e.Code, e.Msg)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("the %w operand is not the cause")
	}
	if err := Errorf(http.StatusBadRequest, "plain %d", 1); errors.Unwrap(err) != nil {
		t.Errorf("an Errorf without %%w has cause %v", errors.Unwrap(err))
	}
}

func TestAdapter(t *testing.T) {
	errBoom := errors.New("disk on fire")
	tests := []struct {
		name        string
		internalMsg string
		err         error
		wrote       string // what the handler writes before returning
		wantCode    int
		wantBody    string
		wantLogged  bool
	}{
		{name: "success", wrote: "ok", wantCode: 200, wantBody: "ok"},
		{name: "error for the reader", err: Errorf(http.StatusBadRequest, "bad info hash %q", "xyz"), wantCode: 400, wantBody: "bad info hash \"xyz\"\n"},
		{name: "wrapped error for the reader", err: fmt.Errorf("lookup: %w", Errorf(http.StatusNotFound, "no torrent")), wantCode: 404, wantBody: "no torrent\n"},
		{name: "fault of the node", err: errBoom, wantCode: 500, wantBody: "internal error\n", wantLogged: true},
		{name: "fault with its own message", internalMsg: "Something went wrong.", err: errBoom, wantCode: 500, wantBody: "Something went wrong.\n", wantLogged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := &Adapter{Log: slog.New(slog.NewTextHandler(&logs, nil)), InternalMsg: tt.internalMsg}
			srv := httptest.NewServer(a.Handler(func(w http.ResponseWriter, r *http.Request) error {
				if tt.wrote != "" {
					io.WriteString(w, tt.wrote)
				}
				return tt.err
			}))
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL + "/some/path")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantCode || string(body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", res.StatusCode, body, tt.wantCode, tt.wantBody)
			}
			if got := logs.Len() > 0; got != tt.wantLogged {
				t.Errorf("logged %v (%q), want %v", got, logs.String(), tt.wantLogged)
			}
			if tt.wantLogged && (!strings.Contains(logs.String(), "path=/some/path") || !strings.Contains(logs.String(), "disk on fire")) {
				t.Errorf("log %q lacks the path or the cause", logs.String())
			}
		})
	}
}

// TestAdapterRender checks that a Render hook writes every error answer,
// with the code and message the adapter chose.
func TestAdapterRender(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantMsg  string
	}{
		{"error for the reader", Errorf(http.StatusNotFound, "No torrent here."), 404, "No torrent here."},
		{"fault of the node", errors.New("template broke"), 500, "Something went wrong."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Adapter{
				Log:         slog.New(slog.DiscardHandler),
				InternalMsg: "Something went wrong.",
				Render: func(w http.ResponseWriter, r *http.Request, e *Error) {
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.WriteHeader(e.Code)
					fmt.Fprintf(w, "<p>%d %s</p>", e.Code, e.Msg)
				},
			}
			rec := httptest.NewRecorder()
			a.Handler(func(http.ResponseWriter, *http.Request) error { return tt.err }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			want := fmt.Sprintf("<p>%d %s</p>", tt.wantCode, tt.wantMsg)
			if rec.Code != tt.wantCode || rec.Body.String() != want || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("got %d %q (%s), want %d %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"), tt.wantCode, want)
			}
		})
	}
}

func TestAdapterNeedsLog(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Handler without Log did not panic")
		}
	}()
	(&Adapter{}).Handler(func(http.ResponseWriter, *http.Request) error { return nil })
}

func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		body string
		code int // 0: read
	}{{"12345", 0}, {"123456", http.StatusRequestEntityTooLarge}} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		b, err := ReadBody(httptest.NewRecorder(), r, 5)
		var he *Error
		switch {
		case tt.code == 0 && (err != nil || string(b) != tt.body):
			t.Errorf("%q: %q, %v; want it read", tt.body, b, err)
		case tt.code != 0 && (!errors.As(err, &he) || he.Code != tt.code):
			t.Errorf("%q: %v; want a %d Error", tt.body, err, tt.code)
		}
	}
}
