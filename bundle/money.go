package bundle

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"

	"github.com/seedcast/seedcast/store"
)

// maxMinorUnits bounds a price: 99 999 999 minor units ($999 999.99) is
// the most one Stripe Checkout payment may charge, and it keeps every
// amount far from overflow.
const maxMinorUnits = 99_999_999

// notMoney are ISO 4217 codes that name no currency a viewer pays in:
// precious metals, the IMF's SDR, bond-market units, the testing code and
// "no currency".
var notMoney = map[string]bool{
	"XAU": true, "XAG": true, "XPT": true, "XPD": true, "XDR": true,
	"XBA": true, "XBB": true, "XBC": true, "XBD": true, "XSU": true,
	"XUA": true, "XTS": true, "XXX": true,
}

// errMoneyForm is the form a price is written in, for messages.
const moneyForm = `an amount and a 3-letter ISO 4217 currency code, such as "9.95 USD" or "1200 JPY"`

// ParseMoney parses a price as a manifest writes it, an amount and an ISO
// 4217 code separated by a space ("9.95 USD"), into minor units without
// going through floating point. The amount is positive, with at most the
// currency's decimals (2 for USD and EUR, 0 for JPY, 3 for KWD), and at
// most 99 999 999 minor units. The code may be written in lower case.
func ParseMoney(s string) (store.Money, error) {
	amount, code, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return store.Money{}, fmt.Errorf("%q is not a price; write %s", s, moneyForm)
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	unit, err := currency.ParseISO(code)
	if err != nil || len(code) != 3 || notMoney[code] {
		return store.Money{}, fmt.Errorf("%q is not an ISO 4217 currency code; write %s", code, moneyForm)
	}
	scale, _ := currency.Standard.Rounding(unit)
	minor, err := parseAmount(amount, scale)
	if err != nil {
		return store.Money{}, fmt.Errorf("amount %q: %w; write %s", amount, err, moneyForm)
	}
	if minor > maxMinorUnits {
		return store.Money{}, fmt.Errorf("amount %q: over %s, the most one payment may be", amount,
			FormatMoney(store.Money{Amount: maxMinorUnits, Currency: code}))
	}
	return store.Money{Amount: minor, Currency: code}, nil
}

// parseAmount reads a positive decimal amount with at most scale decimals
// into an integer of minor units.
func parseAmount(s string, scale int) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case strings.Contains(s, ","):
		return 0, errors.New("write the decimals after a point, not a comma, and no thousands separator")
	case whole == "" || !allDigits(whole) || dot && (frac == "" || !allDigits(frac)):
		return 0, errors.New("not a plain decimal number")
	case len(frac) > scale && scale == 0:
		return 0, errors.New("this currency has no minor unit: write a whole number")
	case len(frac) > scale:
		return 0, fmt.Errorf("more than %d decimals", scale)
	case len(whole) > 12:
		return 0, errors.New("too large")
	}
	digits := whole + frac + strings.Repeat("0", scale-len(frac))
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errors.New("too large")
	}
	if n <= 0 {
		return 0, errors.New("not positive")
	}
	return n, nil
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// FormatMoney writes m as ParseMoney reads it: "9.95 USD".
func FormatMoney(m store.Money) string {
	return FormatAmount(m) + " " + m.Currency
}

// FormatAmount writes m's amount alone in major units, with its
// currency's ISO 4217 decimals: 995 USD is "9.95", 500 JPY "500".
func FormatAmount(m store.Money) string {
	scale := 2
	if unit, err := currency.ParseISO(m.Currency); err == nil {
		scale, _ = currency.Standard.Rounding(unit)
	}
	sign, n := "", m.Amount
	if n < 0 {
		sign, n = "-", -n
	}
	s := strconv.FormatInt(n, 10)
	if scale == 0 {
		return sign + s
	}
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	return sign + s[:len(s)-scale] + "." + s[len(s)-scale:]
}
