package player

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

const (
	// maxRanges bounds the ranges of one Range header. Players and web
	// seed clients ask for one; many tiny ranges only make the node
	// build a multipart answer far larger, and far costlier, than the
	// request (200 000 × "0-0" cost seconds of CPU for 25 MB).
	maxRanges = 8
	// maxRangeHeader bounds the Range header's length.
	maxRangeHeader = 256
)

// rangeOK reports whether r's Range header, if any, is one the node
// answers for a file of size bytes; if not, it has answered 416 with the
// file's size, as RFC 9110 §15.5.17 asks. http.ServeContent checks the
// rest. It refuses what ServeContent would answer wrongly or at a cost:
// more than maxRanges ranges, a header over maxRangeHeader bytes, and a
// suffix of zero bytes ("-0"), which it answers 206 with an inverted
// Content-Range.
func rangeOK(w http.ResponseWriter, r *http.Request, size int64) bool {
	h := r.Header.Get("Range")
	if h == "" {
		return true
	}
	why := ""
	spec, ok := strings.CutPrefix(h, "bytes=")
	switch {
	case len(h) > maxRangeHeader:
		why = fmt.Sprintf("a Range header of at most %d bytes", maxRangeHeader)
	case !ok:
		return true // not bytes: ServeContent ignores it and sends the whole file
	case strings.Count(spec, ",") >= maxRanges:
		why = fmt.Sprintf("at most %d ranges", maxRanges)
	default:
		for _, one := range strings.Split(spec, ",") {
			if suffix, ok := strings.CutPrefix(strings.TrimSpace(one), "-"); ok {
				if n, err := strconv.ParseInt(suffix, 10, 64); err == nil && n == 0 {
					why = "a suffix range of at least one byte"
				}
			}
		}
	}
	if why == "" {
		return true
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
	http.Error(w, "requested range not satisfiable: want "+why, http.StatusRequestedRangeNotSatisfiable)
	return false
}

// singleRange reads a Range header of one byte range, as a web seed
// client sends, into [from, to) within a file of size bytes: "bytes=a-b",
// "bytes=a-" or "bytes=-n". It reports false for anything else, which
// ServeContent answers as it does.
func singleRange(h string, size int64) (from, to int64, ok bool) {
	spec, isBytes := strings.CutPrefix(h, "bytes=")
	if !isBytes || len(h) > maxRangeHeader || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, dash := strings.Cut(strings.TrimSpace(spec), "-")
	if !dash {
		return 0, 0, false
	}
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0 && s[0] != '+'
	}
	switch {
	case a == "":
		n, ok := num(b)
		if !ok || n == 0 {
			return 0, 0, false
		}
		return max(0, size-n), size, size > 0
	case b == "":
		from, ok = num(a)
		to = size
	default:
		var last int64
		from, ok = num(a)
		if l, okB := num(b); ok && okB && l >= from {
			last = l
		} else {
			ok = false
		}
		to = min(last+1, size)
	}
	if !ok || from >= size {
		return 0, 0, false
	}
	return from, to, true
}
