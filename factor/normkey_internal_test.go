package factor

import (
	"encoding/csv"
	"strings"
	"testing"
)

// TestNormKey checks normKey against the folding it stands for.
func TestNormKey(t *testing.T) {
	for _, s := range []string{
		"", " ", "  \t\n", "DE", "de", "Germany", "united  kingdom", " United Kingdom ", "Korea, Republic of",
		"a\tb", "a\vb\fc\rd", "x ", " x", "Côte d'Ivoire", "ÅLAND\u00a0Islands", "İstanbul", "a\u0085b", "ÉÉ  é",
	} {
		want := strings.ToLower(strings.Join(strings.Fields(s), " "))
		if got := normKey(s); got != want {
			t.Errorf("normKey(%q) = %q, want %q", s, got, want)
		}
	}
	for _, r := range append(append([][]string{}, mustCSV(t, isoCSV)...), mustCSV(t, countriesCSV)...) {
		for _, s := range r {
			if got, want := normKey(s), strings.ToLower(strings.Join(strings.Fields(s), " ")); got != want {
				t.Errorf("normKey(%q) = %q, want %q", s, got, want)
			}
		}
	}
}

func mustCSV(t *testing.T, data string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// FuzzNormKey checks normKey against the folding it stands for on any
// string.
func FuzzNormKey(f *testing.F) {
	for _, s := range []string{"", " a ", "A\tB", "Côte d'Ivoire", "a\u00a0b", "\xff A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := normKey(s), strings.ToLower(strings.Join(strings.Fields(s), " ")); got != want {
			t.Errorf("normKey(%q) = %q, want %q", s, got, want)
		}
	})
}
