package cli

import (
	"encoding/json"
	"io"
	"math"
	"strconv"
)

// The command's JSON documents (run --json and --report-file, intensity,
// estimate, report, devices) write their floats with jsonDigits significant
// digits: 483.18, not 483.18000000000006. Field names and types are
// unchanged; a value moves by at most 5e-16 of itself.

// jsonDigits is the number of significant digits of a float in the JSON
// documents: 15, the most that every decimal number keeps through a
// float64. A value written with 15 digits or fewer (in a log, a table, on
// the command line) comes out as written, and the binary noise of
// arithmetic (the 16th and 17th digits) goes.
const jsonDigits = 15

// roundedJSON is v, marshalled with its floats rounded to jsonDigits.
type roundedJSON struct{ v any }

func (r roundedJSON) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.v)
	if err != nil {
		return nil, err
	}
	return roundJSONNumbers(b), nil
}

// encodeJSON writes v to w, indented, its floats rounded.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(roundedJSON{v})
}

// roundJSONNumbers rewrites each number of the JSON document b that has a
// fraction or an exponent with jsonDigits significant digits, as
// encoding/json writes floats; integers and strings are left as they are.
func roundJSONNumbers(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			// A string, to its closing quote.
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(b))
			out = append(out, b[i:j]...)
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j, isFloat := i+1, false
			for ; j < len(b); j++ {
				d := b[j]
				if d == '.' || d == 'e' || d == 'E' {
					isFloat = true
				} else if !(d >= '0' && d <= '9' || d == '+' || d == '-') {
					break
				}
			}
			out = appendRounded(out, b[i:j], isFloat)
			i = j
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

// appendRounded appends the number num, rounded when isFloat.
func appendRounded(out, num []byte, isFloat bool) []byte {
	if !isFloat {
		return append(out, num...)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) {
		return append(out, num...)
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', jsonDigits, 64), 64)
	if err != nil || math.IsInf(r, 0) {
		return append(out, num...) // rounding up past the largest float: keep it as it is
	}
	f = r
	// As encoding/json: no exponent from 1e-6 to 1e21.
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(out)
	out = strconv.AppendFloat(out, f, format, -1, 64)
	if format == 'e' {
		// e-07 → e-7, as encoding/json.
		if n := len(out) - start; n >= 4 && out[len(out)-4] == 'e' && out[len(out)-3] == '-' && out[len(out)-2] == '0' {
			out[len(out)-2] = out[len(out)-1]
			out = out[:len(out)-1]
		}
	}
	return out
}
