package estimate

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// FormatNumber formats v for the arithmetic: six significant digits (all
// digits of the integer part), trailing zeros dropped, thousands separated by
// commas: 1486.464 → "1,486.46", 0.11376 → "0.11376", 100 → "100". From
// 10^15 on (training compute in FLOPs) it writes v in scientific notation:
// 8.4e22 → "8.4e22".
func FormatNumber(v float64) string { return FormatSig(v, 6) }

// FormatSig formats v with sig significant digits (at least the whole
// integer part), trailing zeros dropped and thousands separated by commas;
// from 10^15 on, with sig significant digits in scientific notation
// ("3.14e23").
func FormatSig(v float64, sig int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v == 0 {
		return "0"
	}
	if math.Abs(v) >= 1e15 {
		mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'e', max(sig, 1)-1, 64), "e")
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		return mant + "e" + strings.TrimLeft(strings.TrimPrefix(exp, "+"), "0")
	}
	decimals := sig - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	decimals = min(max(decimals, 0), 15)
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return group(s)
}

// group puts commas between the thousands of the integer part of s.
func group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := sign + b.String()
	if hasFrac {
		out += "." + frac
	}
	return out
}

// FormatEnergy formats an energy in kWh for people, with three significant
// digits: in kWh below 1,000 kWh ("100 kWh"), in MWh from there ("1.49 MWh").
func FormatEnergy(kwh float64) string {
	if math.Abs(kwh) >= 1000 {
		return FormatSig(kwh/1000, 3) + " MWh"
	}
	return FormatSig(kwh, 3) + " kWh"
}

// FormatMass formats a mass of CO2e given in kg for people, with three
// significant digits: in g below 1 kg ("55 g"), in kg below 1,000 kg
// ("83.3 kg"), in tonnes from there ("1.2 t").
func FormatMass(kg float64) string {
	switch a := math.Abs(kg); {
	case a >= 1000:
		return FormatSig(kg/1000, 3) + " t"
	case a >= 1 || a == 0:
		return FormatSig(kg, 3) + " kg"
	default:
		return FormatSig(kg*1000, 3) + " g"
	}
}

// countSuffix returns the multiplier of an abbreviation ParseCount takes
// (lower case), as model cards and papers write sizes and token counts
// ("7B parameters", "2T tokens").
func countSuffix(c byte) (float64, bool) {
	switch c {
	case 'k':
		return 1e3, true
	case 'm':
		return 1e6, true
	case 'b':
		return 1e9, true
	case 't':
		return 1e12, true
	}
	return 0, false
}

// thousands matches a number whose commas separate thousands: "70,000",
// "7,000,000,000.5", not "1,5" (a decimal comma, which ParseCount refuses).
// It is compiled on the first ParseCount, not when the package is loaded.
var thousands = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$`)
})

// ParseCount parses a count of parameters, tokens or FLOPs: a number
// ("7e9", "3.14e23", "7000000000", digit groups separated by "_", or by
// "," in threes), or one followed by K (thousand), M (million), B (billion)
// or T (trillion), in either case: "7B" is 7e9, "2T" 2e12, "1.5k" 1500. A
// decimal comma ("1,5B") is refused, not read as 15B. It returns an error
// that shows the accepted forms.
func ParseCount(s string) (float64, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	if n := len(t); n > 1 {
		if _, ok := countSuffix(t[n-1] | 0x20); ok && strings.Contains(t, ",") && thousands().MatchString(t[:n-1]) {
			t = strings.ReplaceAll(t, ",", "")
		}
	}
	if thousands().MatchString(t) {
		t = strings.ReplaceAll(t, ",", "")
	}
	mult := 1.0
	if n := len(t); n > 1 {
		if m, ok := countSuffix(t[n-1] | 0x20); ok {
			mult, t = m, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(v*mult, 0) || math.IsNaN(v) || mult != 1 && strings.ContainsAny(t, "eEpPxX") {
		return 0, fmt.Errorf("%q is not a count: write 7e9, 7000000000 or 7B (K, M, B, T: thousand to trillion)", s)
	}
	return v * mult, nil
}
