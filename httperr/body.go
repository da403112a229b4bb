package httperr

import (
	"errors"
	"io"
	"net/http"
)

// ReadBody reads r's body, of at most limit bytes: a longer one is a 413
// Error, one that does not read a 400.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body over %d bytes", limit)
	case err != nil:
		return nil, Errorf(http.StatusBadRequest, "reading the body: %v", err)
	}
	return b, nil
}
