package bundle

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/unicode/norm"

	"github.com/seedcast/seedcast/store"
)

// ManifestName is the manifest's name in a bundle's folder.
const ManifestName = "bundle.toml"

// Bounds of a manifest: it is a page of text an artist writes.
const (
	maxManifestBytes = 64 << 10
	maxFiles         = 1000
	maxTitleBytes    = 200
	maxDescBytes     = 16 << 10
	maxIDBytes       = 64
	maxPathBytes     = 1024
	// maxNameBytes is the longest file or folder name most file systems
	// take (ext4, APFS, NTFS count 255 bytes or UTF-16 units).
	maxNameBytes   = 255
	maxGoalBackers = 1_000_000_000
	maxErrors      = 20
)

// Manifest is a bundle's bundle.toml, parsed and checked.
type Manifest struct {
	// ID is the bundle's name in URLs and its torrent's name: the
	// manifest's id, or a slug of the title.
	ID          string
	Title       string
	Artist      string
	Description string
	// Poster is the path of the poster among Files, or "".
	Poster   string
	Files    []File
	Campaign *store.Campaign // nil: none

	lines *lineIndex
}

// File is one file of a manifest.
type File struct {
	// Path is the file's path in the bundle's folder, slash-separated.
	Path string
	Gate store.Gate
	// Line is the line of its [[file]] table's path in the manifest,
	// for messages; 0 if unknown.
	Line int
}

// Gated reports whether the file needs a key.
func (f File) Gated() bool { return f.Gate.Kind != store.GateFree }

// ManifestError is one fault of a manifest: its line (0 when no line
// applies) and what is wrong, with what to write instead.
type ManifestError struct {
	Line int
	Msg  string
}

func (e *ManifestError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", ManifestName, e.Line, e.Msg)
	}
	return ManifestName + ": " + e.Msg
}

// ParseManifest parses and checks the text of a bundle.toml, alone: that
// the files it lists are in the bundle's folder is LoadManifest's to
// check. Its error joins one *ManifestError per fault, in the order of
// their lines.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifestBytes {
		return nil, &ManifestError{Msg: fmt.Sprintf("%d bytes, over the %d KiB a manifest may hold; "+
			"keep long texts out of it (a description is a few paragraphs)", len(data), maxManifestBytes>>10)}
	}
	if !utf8.Valid(data) {
		return nil, &ManifestError{Msg: "not UTF-8 text; save it as UTF-8"}
	}
	doc := string(data)
	var raw map[string]any
	if _, err := toml.Decode(doc, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The decoder counts a line on from a newline it fails at;
			// the byte offset says which line the fault is on.
			line := pe.Position.Line
			if st := pe.Position.Start; st >= 0 && st <= len(doc) {
				line = 1 + strings.Count(doc[:st], "\n")
			}
			return nil, &ManifestError{Line: line, Msg: "not TOML: " + pe.Message + "; see https://toml.io for the syntax"}
		}
		return nil, &ManifestError{Msg: "not TOML: " + err.Error()}
	}
	p := &manifestParser{lines: indexLines(doc), m: &Manifest{}}
	p.m.lines = p.lines
	p.parse(raw)
	if err := p.err(); err != nil {
		return nil, err
	}
	return p.m, nil
}

type manifestParser struct {
	lines *lineIndex
	m     *Manifest
	errs  []*ManifestError
}

func (p *manifestParser) fail(line int, format string, args ...any) {
	p.errs = append(p.errs, &ManifestError{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err joins the faults found, ordered by line.
func (p *manifestParser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(p.errs, func(a, b *ManifestError) int { return a.Line - b.Line })
	var errs []error
	for i, e := range p.errs {
		if i == maxErrors {
			errs = append(errs, fmt.Errorf("and %d more", len(p.errs)-i))
			break
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// Keys of the manifest; the names are the interface issue 14 keeps.
var (
	topKeys      = []string{"id", "title", "artist", "description", "poster", "file", "campaign"}
	fileKeys     = []string{"path", "gate", "price"}
	campaignKeys = []string{"goal_backers", "price", "ends"}
)

func (p *manifestParser) parse(raw map[string]any) {
	m := p.m
	p.unknownKeys(raw, topKeys, "", 0, "at the top of the manifest")
	m.Title = p.text(raw, "title", true, maxTitleBytes, `title = "Children of the Machine"`)
	m.Artist = p.text(raw, "artist", true, maxTitleBytes, `artist = "Jane Doe"`)
	m.Description = p.text(raw, "description", false, maxDescBytes, `description = """A few paragraphs."""`)
	m.Poster = p.text(raw, "poster", false, maxPathBytes, `poster = "poster.jpg"`)
	p.parseID(raw)
	p.parseFiles(raw)
	p.parseCampaign(raw)
	if m.Poster != "" {
		line := p.lines.line("poster", 0)
		i := slices.IndexFunc(m.Files, func(f File) bool { return f.Path == m.Poster })
		switch {
		case i < 0:
			p.fail(line, "poster %q is none of the [[file]] paths; list it as a free file, or write the path of one that is listed", m.Poster)
		case m.Files[i].Gated():
			p.fail(line, "poster %q is behind a gate, but the bundle page shows it to everyone; make its gate \"free\", or choose a free file", m.Poster)
		}
	}
}

// unknownKeys fails on each key of t not in known, naming the closest
// known key.
func (p *manifestParser) unknownKeys(t map[string]any, known []string, prefix string, elem int, where string) {
	for _, k := range sortedKeys(t) {
		if slices.Contains(known, k) {
			continue
		}
		msg := fmt.Sprintf("unknown key %q %s", k, where)
		if near := nearest(k, known); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		} else {
			msg += fmt.Sprintf("; the keys are %s", strings.Join(known, ", "))
		}
		p.fail(p.lineOf(prefix+k, elem, prefix), "%s", msg)
	}
}

// lineOf returns the line of the key at path, else of its table (the
// element elem of an array of tables, or the key that holds the array).
func (p *manifestParser) lineOf(path string, elem int, table string) int {
	if l := p.lines.line(path, elem); l > 0 {
		return l
	}
	table = strings.TrimSuffix(table, ".")
	if l := p.lines.line(table, elem); l > 0 {
		return l
	}
	return p.lines.line(table, 0)
}

// text reads the string at key of t, trimmed: required or not, at most
// maxBytes, without control characters but for a description's line
// breaks and tabs.
func (p *manifestParser) text(t map[string]any, key string, required bool, maxBytes int, example string) string {
	line := p.lineOf(key, 0, "")
	v, ok := t[key]
	if !ok {
		if required {
			p.fail(0, "no %s; add a line such as: %s", key, example)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail(line, "%s is a %s, not text; write it in quotes, such as: %s", key, tomlType(v), example)
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		p.fail(line, "%s is empty; write one, such as: %s", key, example)
	case len(s) > maxBytes:
		p.fail(line, "%s is %d bytes long, over %d; shorten it", key, len(s), maxBytes)
	case strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(key == "description" && (r == '\n' || r == '\t' || r == '\r'))
	}):
		p.fail(line, "%s holds control characters; remove them", key)
	default:
		return s
	}
	return ""
}

func (p *manifestParser) parseID(raw map[string]any) {
	m := p.m
	if _, ok := raw["id"]; !ok {
		if m.Title == "" {
			return // said already
		}
		m.ID = Slug(m.Title)
		if m.ID == "" {
			p.fail(p.lineOf("title", 0, ""), "the title %q makes no id for the bundle's URL and torrent name; add one, such as: id = \"my-film\" (lowercase letters, digits and dashes)", m.Title)
		}
		return
	}
	id := p.text(raw, "id", true, maxIDBytes, `id = "children-of-the-machine"`)
	if id == "" {
		return
	}
	if !validID(id) {
		p.fail(p.lineOf("id", 0, ""), "id %q is not lowercase letters, digits and single dashes between them; write it so, such as: id = %q", id, nonEmpty(Slug(id), "my-film"))
		return
	}
	m.ID = id
}

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// validID reports whether id is a bundle id: lowercase ASCII letters and
// digits, in runs joined by single dashes, at most 64 bytes.
func validID(id string) bool {
	if id == "" || len(id) > maxIDBytes || id[0] == '-' || id[len(id)-1] == '-' || strings.Contains(id, "--") {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Slug makes a bundle id of a title: lowercase ASCII letters and digits,
// accents dropped ("Café" is "cafe"), each run of anything else one dash,
// at most 64 bytes. It is "" for a title without a Latin letter or digit.
func Slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(title) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // an accent, decomposed off its letter
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
	}
	s := b.String()
	if len(s) > maxIDBytes {
		s = s[:maxIDBytes]
		if i := strings.LastIndexByte(s, '-'); i > maxIDBytes/2 {
			s = s[:i]
		}
		s = strings.TrimRight(s, "-")
	}
	return s
}

func (p *manifestParser) parseFiles(raw map[string]any) {
	v, ok := raw["file"]
	if !ok {
		p.fail(0, "no files; add a table per file, such as:\n\n[[file]]\npath = \"pilot.mp4\"\ngate = \"free\"\n")
		return
	}
	tables, ok := tableArray(v)
	if !ok {
		p.fail(p.lineOf("file", 0, ""), "file is a %s; write one [[file]] table per file, with path and gate", tomlType(v))
		return
	}
	if len(tables) == 0 {
		p.fail(p.lineOf("file", 0, ""), "file is an empty list; write one [[file]] table per file, with path and gate")
		return
	}
	if len(tables) > maxFiles {
		p.fail(p.lineOf("file", len(tables)-1, ""), "%d files, over the %d a bundle may hold; make several bundles", len(tables), maxFiles)
		return
	}
	seen := make(map[string]int) // case-folded path: index in Files
	for i, t := range tables {
		p.unknownKeys(t, fileKeys, "file.", i, "in a [[file]] table")
		line := p.lineOf("file.path", i, "file.")
		f := File{Line: line}
		pv, ok := t["path"]
		switch s, isStr := pv.(string); {
		case !ok:
			p.fail(p.lineOf("file", i, ""), "a [[file]] table has no path; add one, such as: path = \"episode-1.mp4\"")
		case !isStr:
			p.fail(line, "path is a %s; write the file's path in quotes, such as: path = \"episode-1.mp4\"", tomlType(pv))
		default:
			if msg := checkPath(s); msg != "" {
				p.fail(line, "path %q %s", s, msg)
				break
			}
			f.Path = s
			if j, dup := seen[strings.ToLower(s)]; dup {
				prev := p.m.Files[j]
				if prev.Path == s {
					p.fail(line, "path %q is listed twice (first on line %d); list each file once", s, prev.Line)
				} else {
					p.fail(line, "paths %q and %q (line %d) differ only in case, which clashes on macOS and Windows; rename one", s, prev.Path, prev.Line)
				}
				f.Path = ""
			}
		}
		f.Gate = p.parseGate(t, i)
		if f.Path != "" {
			seen[strings.ToLower(f.Path)] = len(p.m.Files)
			p.m.Files = append(p.m.Files, f)
		}
	}
}

// tableArray returns v as an array of tables, whether written as
// [[file]] headers or as an array of inline tables.
func tableArray(v any) ([]map[string]any, bool) {
	switch a := v.(type) {
	case []map[string]any:
		return a, true
	case []any:
		out := make([]map[string]any, 0, len(a))
		for _, e := range a {
			t, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, t)
		}
		return out, true
	}
	return nil, false
}

// checkPath says what is wrong with a file's path, or "" if nothing: it
// is relative, slash-separated, with no empty, ".", ".." or hidden names
// (the torrent leaves hidden files out), printable, and short enough for
// any file system.
func checkPath(p string) string {
	const fix = "; write the path below the bundle's folder with slashes, such as \"extras/making-of.mp4\""
	switch {
	case p == "":
		return "is empty" + fix
	case len(p) > maxPathBytes:
		return fmt.Sprintf("is over %d bytes long; shorten it", maxPathBytes)
	case strings.HasPrefix(p, "/"):
		return "is absolute" + fix
	case strings.Contains(p, `\`):
		return `holds a backslash` + fix
	case strings.ContainsFunc(p, unicode.IsControl):
		return "holds control characters; rename the file"
	case strings.EqualFold(p, ManifestName):
		return "is the manifest, which is not part of the bundle; leave it out"
	}
	for _, name := range strings.Split(p, "/") {
		switch {
		case name == "" || name == ".":
			clean := path.Clean(p)
			if clean != "." && !strings.HasPrefix(clean, "..") && clean != p {
				return fmt.Sprintf("has an empty or \".\" part; write %q", clean)
			}
			return "has an empty or \".\" part" + fix
		case name == "..":
			return "leaves the bundle's folder (\"..\"); move the file into the folder and write its path there"
		case strings.HasPrefix(name, "."):
			return fmt.Sprintf("has a hidden name (%q), which torrents leave out; rename it without the leading dot", name)
		case len(name) > maxNameBytes:
			return fmt.Sprintf("has a name over %d bytes long; shorten it", maxNameBytes)
		}
	}
	return ""
}

func (p *manifestParser) parseGate(t map[string]any, i int) store.Gate {
	const gates = `gate = "free", gate = "email", or gate = "price" with a price such as price = "9.95 USD"`
	gv, ok := t["gate"]
	line := p.lineOf("file.gate", i, "file.")
	g, isStr := gv.(string)
	switch {
	case !ok:
		p.fail(p.lineOf("file", i, ""), "a [[file]] table has no gate; add %s", gates)
		return store.Gate{}
	case !isStr:
		p.fail(line, "gate is a %s; write %s", tomlType(gv), gates)
		return store.Gate{}
	}
	priceLine := p.lineOf("file.price", i, "file.")
	pv, hasPrice := t["price"]
	switch g {
	case store.GateFree, store.GateEmail:
		if hasPrice {
			p.fail(priceLine, "a price, but gate = %q; remove the price, or write gate = \"price\" to charge it", g)
		}
		return store.Gate{Kind: g}
	case store.GatePrice:
		if !hasPrice {
			p.fail(line, `gate = "price" needs a price; add one, such as: price = "9.95 USD"`)
			return store.Gate{}
		}
		m, ok := p.money(pv, priceLine, "price")
		if !ok {
			return store.Gate{}
		}
		return store.Gate{Kind: store.GatePrice, Price: m}
	}
	if _, err := ParseMoney(g); err == nil {
		p.fail(line, "gate = %q; write gate = \"price\" and price = %q", g, g)
	} else {
		p.fail(line, "gate = %q is no gate; write %s", g, gates)
	}
	return store.Gate{}
}

func (p *manifestParser) money(v any, line int, key string) (store.Money, bool) {
	s, ok := v.(string)
	if !ok {
		p.fail(line, "%s is a %s; write it in quotes with its currency, such as: %s = \"9.95 USD\"", key, tomlType(v), key)
		return store.Money{}, false
	}
	m, err := ParseMoney(s)
	if err != nil {
		p.fail(line, "%s: %v", key, err)
		return store.Money{}, false
	}
	return m, true
}

func (p *manifestParser) parseCampaign(raw map[string]any) {
	v, ok := raw["campaign"]
	if !ok {
		return
	}
	t, ok := v.(map[string]any)
	if !ok {
		p.fail(p.lineOf("campaign", 0, ""), "campaign is a %s; write a [campaign] table with goal_backers, price and, if it ends, ends", tomlType(v))
		return
	}
	p.unknownKeys(t, campaignKeys, "campaign.", 0, "in [campaign]")
	c := &store.Campaign{}
	bad := false
	line := p.lineOf("campaign.goal_backers", 0, "campaign.")
	switch g, isInt := t["goal_backers"].(int64); {
	case t["goal_backers"] == nil:
		p.fail(p.lineOf("campaign", 0, ""), "[campaign] has no goal_backers; add the number of backers it aims at, such as: goal_backers = 250000")
		bad = true
	case !isInt:
		p.fail(line, "goal_backers is a %s; write a whole number without quotes, such as: goal_backers = 250000", tomlType(t["goal_backers"]))
		bad = true
	case g <= 0 || g > maxGoalBackers:
		p.fail(line, "goal_backers = %d; write a number of backers from 1 to %d", g, maxGoalBackers)
		bad = true
	default:
		c.GoalBackers = g
	}
	if pv, ok := t["price"]; ok {
		m, ok := p.money(pv, p.lineOf("campaign.price", 0, "campaign."), "price")
		c.Price, bad = m, bad || !ok
	} else {
		p.fail(p.lineOf("campaign", 0, ""), "[campaign] has no price; add what a backer pledges, such as: price = \"9.95 USD\"")
		bad = true
	}
	if ev, ok := t["ends"]; ok {
		ends, err := parseEnds(ev)
		if err != nil {
			p.fail(p.lineOf("campaign.ends", 0, "campaign."), "ends: %v", err)
			bad = true
		}
		c.Ends = ends
	}
	if !bad {
		p.m.Campaign = c
	}
}

// parseEnds reads a campaign's end: an RFC 3339 date, which ends at the
// end of that day in UTC, or date and time with Z or an offset, as a TOML
// date or datetime or as a string.
func parseEnds(v any) (time.Time, error) {
	const form = "write a date, such as ends = 2026-06-30 (the campaign ends as that day does in UTC), or a date and time with Z or an offset, such as ends = 2026-06-30T18:00:00+02:00"
	switch t := v.(type) {
	case time.Time:
		switch t.Location().String() {
		case "date-local":
			return endOfDay(t.Year(), t.Month(), t.Day()), nil
		case "datetime-local":
			return time.Time{}, errors.New("a time without Z or an offset, which reads differently around the world; add Z for UTC or an offset such as +02:00")
		case "time-local":
			return time.Time{}, errors.New("a time without a date; " + form)
		}
		return t.UTC(), nil
	case string:
		if d, err := time.Parse(time.DateOnly, t); err == nil {
			return endOfDay(d.Year(), d.Month(), d.Day()), nil
		}
		if d, err := time.Parse(time.RFC3339, t); err == nil {
			return d.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 date nor a date and time; %s", t, form)
	}
	return time.Time{}, fmt.Errorf("a %s; %s", tomlType(v), form)
}

func endOfDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// tomlType names the TOML type of a decoded value, for messages.
func tomlType(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case int64:
		return "number"
	case float64:
		return "decimal number"
	case bool:
		return "boolean"
	case time.Time:
		return "date"
	case map[string]any:
		return "table"
	case []map[string]any, []any:
		return "list"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// nearest returns the known key closest to k, if it is close enough to
// be a slip of the keyboard.
func nearest(k string, known []string) string {
	best, bestDist := "", 3
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes; both are
// short keys.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
