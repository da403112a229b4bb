package bundle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// pilotManifest is the manifest of the example in issue 14: a free
// pilot, an episode behind an email, one behind a price, and a campaign.
const pilotManifest = `# Children of the Machine, season 1
title = "Children of the Machine"
artist = "Tom Nardone"
description = """
A crowd-funded series.
Season one."""
poster = "poster.jpg"

[[file]]
path = "poster.jpg"
gate = "free"

[[file]]
path = "pilot.mp4"
gate = "free"

[[file]]
path = "episode-2.mp4"
gate = "email"

[[file]]
path = "extras/making-of.mp4"
gate = "price"
price = "9.95 USD"

[campaign]
goal_backers = 250000
price = "9.95 USD"
ends = 2031-06-30
`

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(pilotManifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "children-of-the-machine" || m.Title != "Children of the Machine" || m.Artist != "Tom Nardone" ||
		m.Description != "A crowd-funded series.\nSeason one." || m.Poster != "poster.jpg" {
		t.Errorf("manifest %+v", m)
	}
	want := []File{
		{Path: "poster.jpg", Gate: store.Gate{Kind: "free"}, Line: 10},
		{Path: "pilot.mp4", Gate: store.Gate{Kind: "free"}, Line: 14},
		{Path: "episode-2.mp4", Gate: store.Gate{Kind: "email"}, Line: 18},
		{Path: "extras/making-of.mp4", Gate: store.Gate{Kind: "price", Price: store.Money{Amount: 995, Currency: "USD"}}, Line: 22},
	}
	if len(m.Files) != len(want) {
		t.Fatalf("files %+v", m.Files)
	}
	for i := range want {
		if m.Files[i] != want[i] {
			t.Errorf("file %d: %+v, want %+v", i, m.Files[i], want[i])
		}
	}
	wantC := store.Campaign{GoalBackers: 250000, Price: store.Money{Amount: 995, Currency: "USD"}, Ends: time.Date(2031, 7, 1, 0, 0, 0, 0, time.UTC)}
	if m.Campaign == nil || *m.Campaign != wantC {
		t.Errorf("campaign %+v, want %+v", m.Campaign, wantC)
	}
}

func TestParseManifestForms(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		check     func(*Manifest) bool
	}{
		{"explicit id", `id = "cotm-s1"` + "\n" + minimal, func(m *Manifest) bool { return m.ID == "cotm-s1" }},
		{"inline tables", "title = \"T\"\nartist = \"A\"\nfile = [{path = \"a.mp4\", gate = \"free\"}, {path = \"b.mp4\", gate = \"email\"}]\n",
			func(m *Manifest) bool { return len(m.Files) == 2 && m.Files[1].Gate.Kind == "email" }},
		{"ends as a string date", minimal + "[campaign]\ngoal_backers = 1\nprice = \"5 EUR\"\nends = \"2031-01-02\"\n",
			func(m *Manifest) bool { return m.Campaign.Ends.Equal(time.Date(2031, 1, 3, 0, 0, 0, 0, time.UTC)) }},
		{"ends with an offset", minimal + "[campaign]\ngoal_backers = 1\nprice = \"5 EUR\"\nends = 2031-01-02T18:00:00+02:00\n",
			func(m *Manifest) bool { return m.Campaign.Ends.Equal(time.Date(2031, 1, 2, 16, 0, 0, 0, time.UTC)) }},
		{"dotted campaign", "campaign.goal_backers = 10\ncampaign.price = \"1200 jpy\"\n" + minimal,
			func(m *Manifest) bool {
				return m.Campaign.GoalBackers == 10 && m.Campaign.Price == store.Money{Amount: 1200, Currency: "JPY"}
			}},
		{"accented title", "title = \"Café Noir: Épisode 1\"\nartist = \"A\"\n[[file]]\npath = \"a\"\ngate = \"free\"\n",
			func(m *Manifest) bool { return m.ID == "cafe-noir-episode-1" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(m) {
				t.Errorf("manifest %+v, campaign %+v", m, m.Campaign)
			}
		})
	}
}

const minimal = "title = \"T\"\nartist = \"A\"\n[[file]]\npath = \"a.mp4\"\ngate = \"free\"\n"

// TestParseManifestErrors checks that each fault names its line and says
// what to write instead.
func TestParseManifestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		line int
		fix  string // a word of the fix the message gives
	}{
		{"not toml", "title = \"T\nartist = 1\n", 1, "toml.io"},
		{"not toml at a newline", minimal + "[[file]\npath = \"b\"\n", 6, "toml.io"},
		{"no title", "artist = \"A\"\n[[file]]\npath = \"a\"\ngate = \"free\"\n", 0, `title = "`},
		{"title a number", "title = 5\nartist = \"A\"\n[[file]]\npath = \"a\"\ngate = \"free\"\n", 1, "in quotes"},
		{"unknown top key", "titel = \"T\"\n" + minimal, 1, `did you mean "title"`},
		{"unknown file key", minimal + "[[file]]\npath = \"b\"\ngate = \"free\"\ngat = \"free\"\n", 9, `did you mean "gate"`},
		{"unknown campaign key", minimal + "[campaign]\ngoal_backers = 1\nprice = \"1 USD\"\nend = 2030-01-01\n", 9, `"ends"`},
		{"bad gate, second file", minimal + "\n[[file]]\npath = \"b.mp4\"\ngate = \"paid\"\n", 9, `gate = "price"`},
		{"price as gate", minimal + "[[file]]\npath = \"b\"\ngate = \"9.95 USD\"\n", 8, `price = "9.95 USD"`},
		{"no price", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\n", 8, `price = "9.95 USD"`},
		{"price on free", minimal + "[[file]]\npath = \"b\"\ngate = \"free\"\nprice = \"1 USD\"\n", 9, "remove the price"},
		{"three decimals", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"9.955 USD\"\n", 9, "decimals"},
		{"decimals in JPY", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"9.5 JPY\"\n", 9, "whole number"},
		{"comma", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"9,95 EUR\"\n", 9, "point"},
		{"no currency", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"9.95\"\n", 9, "ISO 4217"},
		{"bad currency", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"9.95 USX\"\n", 9, "ISO 4217"},
		{"gold", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"1 XAU\"\n", 9, "ISO 4217"},
		{"zero", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"0.00 USD\"\n", 9, "positive"},
		{"negative", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"-1 USD\"\n", 9, "decimal"},
		{"too much", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = \"1000000 USD\"\n", 9, "999999.99 USD"},
		{"price a number", minimal + "[[file]]\npath = \"b\"\ngate = \"price\"\nprice = 9.95\n", 9, `"9.95 USD"`},
		{"dotdot", minimal + "[[file]]\npath = \"../secret.mp4\"\ngate = \"free\"\n", 7, "move the file into the folder"},
		{"absolute", minimal + "[[file]]\npath = \"/etc/passwd\"\ngate = \"free\"\n", 7, "absolute"},
		{"dot part", minimal + "[[file]]\npath = \"./b.mp4\"\ngate = \"free\"\n", 7, `write "b.mp4"`},
		{"hidden", minimal + "[[file]]\npath = \"x/.b.mp4\"\ngate = \"free\"\n", 7, "leading dot"},
		{"backslash", minimal + "[[file]]\npath = 'x\\b.mp4'\ngate = \"free\"\n", 7, "slashes"},
		{"duplicate", minimal + "[[file]]\npath = \"a.mp4\"\ngate = \"email\"\n", 7, "first on line 4"},
		{"case duplicate", minimal + "[[file]]\npath = \"A.mp4\"\ngate = \"email\"\n", 7, "rename one"},
		{"manifest listed", minimal + "[[file]]\npath = \"bundle.toml\"\ngate = \"free\"\n", 7, "leave it out"},
		{"no path", minimal + "\n[[file]]\ngate = \"free\"\n", 7, `path = "`},
		{"no gate", minimal + "[[file]]\npath = \"b\"\n", 6, `gate = "free"`},
		{"no files", "title = \"T\"\nartist = \"A\"\n", 0, "[[file]]"},
		{"file not tables", "title = \"T\"\nartist = \"A\"\nfile = \"a.mp4\"\n", 3, "[[file]]"},
		{"bad id", "id = \"My Film\"\n" + minimal, 1, `id = "my-film"`},
		{"title makes no id", "title = \"映画\"\nartist = \"A\"\n[[file]]\npath = \"a\"\ngate = \"free\"\n", 1, `id = "my-film"`},
		{"poster not listed", "poster = \"p.jpg\"\n" + minimal, 1, "list it as a free file"},
		{"poster gated", "poster = \"b.jpg\"\n" + minimal + "[[file]]\npath = \"b.jpg\"\ngate = \"email\"\n", 1, `"free"`},
		{"goal as text", minimal + "[campaign]\ngoal_backers = \"250000\"\nprice = \"1 USD\"\n", 7, "without quotes"},
		{"goal zero", minimal + "[campaign]\ngoal_backers = 0\nprice = \"1 USD\"\n", 7, "from 1"},
		{"campaign without price", minimal + "\n[campaign]\ngoal_backers = 5\n", 7, "price ="},
		{"ends local datetime", minimal + "[campaign]\ngoal_backers = 1\nprice = \"1 USD\"\nends = 2030-01-01T10:00:00\n", 9, "offset"},
		{"ends garbage", minimal + "[campaign]\ngoal_backers = 1\nprice = \"1 USD\"\nends = \"next june\"\n", 9, "ends = 2026-06-30"},
		{"control in title", "title = \"a\\u0007b\"\nartist = \"A\"\n[[file]]\npath = \"a\"\ngate = \"free\"\n", 1, "remove them"},
		{"too big", "title = \"" + strings.Repeat("x", 70<<10) + "\"\n", 0, "KiB"},
		{"multi-line string before", "description = \"\"\"\n[[file]]\npath = \"z\"\n\"\"\"\n" + minimal + "[[file]]\npath = \"b\"\ngate = \"nope\"\n", 12, "gate ="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.doc))
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %v, want a ManifestError", err)
			}
			if me.Line != tc.line {
				t.Errorf("line %d, want %d: %v", me.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.fix) {
				t.Errorf("error %q does not say %q", err, tc.fix)
			}
		})
	}
}

func TestParseManifestManyErrors(t *testing.T) {
	doc := "titel = 1\n" + minimal + "[[file]]\npath = \"../x\"\ngate = \"paid\"\n"
	_, err := ParseManifest([]byte(doc))
	var lines []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var me *ManifestError
		if errors.As(e, &me) {
			lines = append(lines, me.Line)
		}
	}
	if want := []int{1, 8, 9}; len(lines) != len(want) || lines[0] != 1 || lines[1] != 8 || lines[2] != 9 {
		t.Errorf("lines %v, want %v: %v", lines, want, err)
	}
}

func TestParseManifestBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("title = \"T\"\nartist = \"A\"\n")
	for i := range maxFiles + 1 {
		b.WriteString("[[file]]\npath = \"f" + strings.Repeat("0", 4) + string(rune('a'+i%26)) + itoa(i) + "\"\ngate = \"free\"\n")
	}
	if b.Len() > maxManifestBytes {
		t.Fatalf("test manifest of %d bytes is over the byte bound", b.Len())
	}
	_, err := ParseManifest([]byte(b.String()))
	var me *ManifestError
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "1001 files") {
		t.Errorf("1001 files: %v", err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var s []byte
	for ; i > 0; i /= 10 {
		s = append([]byte{byte('0' + i%10)}, s...)
	}
	return string(s)
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Children of the Machine":  "children-of-the-machine",
		"  --Hello,   World!--  ":  "hello-world",
		"Ça va? Œuvre 2":           "ca-va-uvre-2",
		"映画":                       "",
		"Episode 1 (2024)":         "episode-1-2024",
		strings.Repeat("abc ", 40): "abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc",
	} {
		got := Slug(in)
		if got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
		if got != "" && !validID(got) {
			t.Errorf("Slug(%q) = %q, not a valid id", in, got)
		}
	}
}

func TestParseMoney(t *testing.T) {
	for in, want := range map[string]store.Money{
		"9.95 USD":    {Amount: 995, Currency: "USD"},
		"10 EUR":      {Amount: 1000, Currency: "EUR"},
		"10.5 eur":    {Amount: 1050, Currency: "EUR"},
		"0.01 USD":    {Amount: 1, Currency: "USD"},
		"1200 JPY":    {Amount: 1200, Currency: "JPY"},
		"1.234 KWD":   {Amount: 1234, Currency: "KWD"},
		"  5.00 GBP ": {Amount: 500, Currency: "GBP"},
		// 0.1 + 0.2 in floating point is not 0.3; here it is 30 cents.
		"0.30 USD":      {Amount: 30, Currency: "USD"},
		"999999.99 USD": {Amount: 99_999_999, Currency: "USD"},
	} {
		got, err := ParseMoney(in)
		if err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if err == nil {
			if back, err := ParseMoney(FormatMoney(got)); err != nil || back != got {
				t.Errorf("FormatMoney(%+v) = %q does not parse back", got, FormatMoney(got))
			}
		}
	}
	for _, in := range []string{"", "USD", "9.95", "USD 9.95", "9.95 US", "9.95 USDD", "9.95 XXX", "1e3 USD", ".5 USD",
		"5. USD", "+5 USD", "0 USD", "1,000 USD", "9.999 USD", "1.5 JPY", "99999999999999999999 USD", "1 234 USD"} {
		if m, err := ParseMoney(in); err == nil {
			t.Errorf("ParseMoney(%q) = %+v, want an error", in, m)
		}
	}
	if got := FormatMoney(store.Money{Amount: 5, Currency: "USD"}); got != "0.05 USD" {
		t.Errorf("FormatMoney(5 cents) = %q", got)
	}
	for _, tc := range []struct {
		m    store.Money
		want string
	}{
		{store.Money{Amount: 0, Currency: "USD"}, "0.00"},
		{store.Money{Amount: 248750, Currency: "USD"}, "2487.50"},
		{store.Money{Amount: 500, Currency: "JPY"}, "500"},
		{store.Money{Amount: 1500, Currency: "KWD"}, "1.500"},
	} {
		if got := FormatAmount(tc.m); got != tc.want {
			t.Errorf("FormatAmount(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}

// FuzzParseManifest checks that no manifest crashes the parser or
// leaves it beyond its bounds, and that what it accepts holds what the
// rest of seedcast relies on.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(pilotManifest))
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "[campaign]\ngoal_backers = 1\nprice = \"5 EUR\"\nends = \"2031-01-02\"\n"))
	f.Add([]byte("title = \"T\"\nartist = \"A\"\nfile = [{path = \"a.mp4\", gate = \"free\"}, {path = \"b.mp4\", gate = \"price\", price = \"1 JPY\"}]\n"))
	f.Add([]byte("description = '''\n[[file]]\n'''\n" + minimal))
	f.Add([]byte("a.b.\"c.d\" = [\n  [1, 2],\n  {x = \"]\"},\n]\n[[file]]\npath = \"x\"\n"))
	f.Add([]byte("[[file]]\n[[file]]\n[campaign]\n[campaign.x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		if !validID(m.ID) || m.Title == "" || m.Artist == "" || len(m.Files) == 0 || len(m.Files) > maxFiles {
			t.Fatalf("accepted %+v", m)
		}
		seen := map[string]bool{}
		for _, f := range m.Files {
			if msg := checkPath(f.Path); msg != "" {
				t.Fatalf("accepted path %q: %s", f.Path, msg)
			}
			if seen[strings.ToLower(f.Path)] {
				t.Fatalf("accepted %q twice", f.Path)
			}
			seen[strings.ToLower(f.Path)] = true
			switch f.Gate.Kind {
			case store.GateFree, store.GateEmail:
				if f.Gate.Price != (store.Money{}) {
					t.Fatalf("price on %+v", f)
				}
			case store.GatePrice:
				if f.Gate.Price.Amount <= 0 || f.Gate.Price.Amount > maxMinorUnits || len(f.Gate.Price.Currency) != 3 {
					t.Fatalf("price %+v", f.Gate.Price)
				}
			default:
				t.Fatalf("gate %+v", f.Gate)
			}
		}
		if m.Poster != "" && !seen[strings.ToLower(m.Poster)] {
			t.Fatalf("poster %q not among the files", m.Poster)
		}
		if c := m.Campaign; c != nil && (c.GoalBackers <= 0 || c.Price.Amount <= 0) {
			t.Fatalf("campaign %+v", c)
		}
	})
}
