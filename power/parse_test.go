//go:build linux

package power

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseUint checks the allocation-free energy_uj parser against strconv.
func FuzzParseUint(f *testing.F) {
	for _, s := range []string{"0\n", "262143328850\n", "18446744073709551615\n", "12 ", "", "\n", "-1\n", "1e5\n", "12a\n", "007\n", "123\x00\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseUint(b)
		field := string(b)
		if i := strings.IndexAny(field, "\n \t\x00"); i >= 0 {
			field = field[:i]
		}
		want, werr := strconv.ParseUint(field, 10, 64)
		if werr != nil {
			if err == nil {
				t.Fatalf("parseUint(%q) = %d, want error (%v)", b, got, werr)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("parseUint(%q) = %d, %v; want %d", b, got, err, want)
		}
	})
}
