// Package httperr lets HTTP handlers return errors instead of writing
// them: a handler returns an *Error for an answer meant for the reader (a
// bad info hash, a missing file), any other error for a fault of the node,
// and an Adapter is the one place both become status codes, bodies and
// logs. It follows caddy's caddyhttp.HandlerError and tailscale's tsweb
// ReturnHandler.
package httperr

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is an error that answers a request with a status code and a
// message for whoever reads the response. Every string in Msg is shown as
// it is, so it must say what went wrong in words a viewer understands.
type Error struct {
	// Code is the HTTP status code, 4xx or 5xx.
	Code int
	// Msg is the message for the reader.
	Msg string
	// Err is the cause, if any, for errors.Is and errors.As.
	Err error
}

// Error returns the message for the reader.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with status code and the message formatted as
// fmt.Errorf does; a %w verb makes its operand the Error's cause.
func Errorf(code int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Func is a handler that returns its error instead of writing it. It
// returns nil once it has answered the request; it writes nothing before
// returning an error it wants answered.
type Func func(w http.ResponseWriter, r *http.Request) error

// Adapter turns Funcs into http.Handlers. Its fields may not be changed
// once Handler has been called.
type Adapter struct {
	// Log receives the errors that are not an *Error, each a fault of the
	// node answered with 500 (required: the caller's configured logger).
	Log *slog.Logger
	// InternalMsg is the message of a 500 answer; "" means "internal
	// error". The cause is logged, never shown.
	InternalMsg string
	// Render writes the answer to an error, such as an HTML error page;
	// nil means plain text with http.Error. Render handles its own
	// failures.
	Render func(w http.ResponseWriter, r *http.Request, e *Error)
}

// Handler returns the http.Handler that calls f and answers the error it
// returns: an *Error (anywhere in its chain) with its code and message,
// any other error with 500 and InternalMsg after logging it. Handler
// panics if Log is nil, at registration rather than on the first failure.
func (a *Adapter) Handler(f Func) http.Handler {
	if a.Log == nil {
		panic("httperr: Adapter.Log is required")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := f(w, r)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			a.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			msg := a.InternalMsg
			if msg == "" {
				msg = "internal error"
			}
			e = &Error{Code: http.StatusInternalServerError, Msg: msg, Err: err}
		}
		if a.Render != nil {
			a.Render(w, r, e)
			return
		}
		http.Error(w, e.Msg, e.Code)
	})
}
