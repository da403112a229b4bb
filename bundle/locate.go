package bundle

import (
	"strings"
)

// lineIndex finds the line of a key of a TOML document that parsed, so
// that a message about a value can name its line. The TOML decoder keeps
// positions to itself, and keeps one per key name, so that every
// [[file]] table's path would share the last one's line.
//
// It reads the document line by line as TOML lays it out: table headers
// ([name], [[name]]) and keys (name = value, dotted or quoted), skipping
// what is inside strings, multi-line strings, arrays and inline tables.
// A key it cannot place has line 0 and messages go without.
type lineIndex struct {
	lines map[keyAt]int
}

// keyAt is a key's dotted path from the document's root, and for a key
// inside an array of tables, which table of the array (0 for the first);
// 0 elsewhere.
type keyAt struct {
	path string
	elem int
}

func indexLines(doc string) *lineIndex {
	li := &lineIndex{lines: make(map[keyAt]int)}
	var (
		table    string         // the current table header's path
		elem     int            // which element of an array of tables it is
		arrays   map[string]int // elements seen of each array of tables
		sc       lineScanner
		lineNum  int
		remember = func(k keyAt, line int) {
			if _, ok := li.lines[k]; !ok {
				li.lines[k] = line
			}
		}
	)
	arrays = make(map[string]int)
	for line := range strings.Lines(doc) {
		lineNum++
		if sc.inside() {
			sc.scan(line)
			continue
		}
		s := strings.TrimLeft(line, " \t")
		switch {
		case strings.HasPrefix(s, "[["):
			parts, rest, ok := parseKey(s[2:])
			if !ok || !strings.HasPrefix(rest, "]]") {
				sc.scan(s)
				continue
			}
			table = strings.Join(parts, ".")
			elem = arrays[table]
			arrays[table]++
			remember(keyAt{table, elem}, lineNum)
			sc.scan(rest[2:])
		case strings.HasPrefix(s, "["):
			parts, rest, ok := parseKey(s[1:])
			if !ok || !strings.HasPrefix(rest, "]") {
				sc.scan(s)
				continue
			}
			table, elem = strings.Join(parts, "."), 0
			remember(keyAt{table, 0}, lineNum)
			sc.scan(rest[1:])
		default:
			parts, rest, ok := parseKey(s)
			if !ok || !strings.HasPrefix(rest, "=") {
				sc.scan(s)
				continue
			}
			path := strings.Join(parts, ".")
			if table != "" {
				path = table + "." + path
			}
			remember(keyAt{path, elem}, lineNum)
			// Each prefix of a dotted key names a table defined here too.
			for i := len(parts) - 1; i > 0; i-- {
				p := strings.Join(parts[:i], ".")
				if table != "" {
					p = table + "." + p
				}
				remember(keyAt{p, elem}, lineNum)
			}
			sc.scan(rest[1:])
		}
	}
	return li
}

// line returns the line of the key at path (dotted) in element elem of
// the array of tables it is in, or 0.
func (li *lineIndex) line(path string, elem int) int {
	return li.lines[keyAt{path, elem}]
}

// parseKey reads a dotted key at the start of s, bare or quoted parts
// separated by dots and blanks, and returns its parts and what follows
// it, blanks trimmed.
func parseKey(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var part string
		switch s[0] {
		case '"':
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, "", false
			}
			part, s = b.String(), s[i+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			part, s = s[1:1+end], s[2+end:]
		default:
			i := 0
			for i < len(s) && isBareKeyByte(s[i]) {
				i++
			}
			if i == 0 {
				return nil, "", false
			}
			part, s = s[:i], s[i:]
		}
		parts = append(parts, part)
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// lineScanner follows what spans lines in TOML: multi-line strings,
// arrays, and inline tables (which TOML 1.1 lets span lines).
type lineScanner struct {
	multi byte // '"' or '\'' inside a multi-line string of that quote, else 0
	depth int  // open brackets and braces
}

// inside reports whether the next line continues a value, so that it
// holds no key or header.
func (sc *lineScanner) inside() bool { return sc.multi != 0 || sc.depth > 0 }

// scan follows one line's worth of s.
func (sc *lineScanner) scan(s string) {
	for i := 0; i < len(s); i++ {
		if sc.multi != 0 {
			q := strings.Repeat(string(sc.multi), 3)
			if sc.multi == '"' && s[i] == '\\' {
				i++
				continue
			}
			if strings.HasPrefix(s[i:], q) {
				// A closing run may be up to five quotes long: the
				// string's last quotes, then the delimiter.
				j := i + 3
				for j < len(s) && j < i+5 && s[j] == sc.multi {
					j++
				}
				sc.multi, i = 0, j-1
			}
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '"', '\'':
			if strings.HasPrefix(s[i:], strings.Repeat(string(c), 3)) {
				sc.multi, i = c, i+2
				continue
			}
			for i++; i < len(s) && s[i] != c; i++ {
				if c == '"' && s[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			sc.depth++
		case ']', '}':
			if sc.depth > 0 {
				sc.depth--
			}
		}
	}
}
