package factor

import "testing"

// TestNormKey: lower case, single spaces (any Unicode space), no
// surrounding space.
func TestNormKey(t *testing.T) {
	for s, want := range map[string]string{
		"":                   "",
		" ":                  "",
		"  \t\n":             "",
		"DE":                 "de",
		"de":                 "de",
		"Germany":            "germany",
		"united  kingdom":    "united kingdom",
		" United Kingdom ":   "united kingdom",
		"Korea, Republic of": "korea, republic of",
		"a\tb":               "a b",
		"a\u000bb\fc\rd":     "a b c d",
		"x ":                 "x",
		" x":                 "x",
		"Côte d'Ivoire":      "côte d'ivoire",
		"ÅLAND Islands":      "åland islands",
		"ÉÉ  é":              "éé é",
	} {
		if got := normKey(s); got != want {
			t.Errorf("normKey(%q) = %q, want %q", s, got, want)
		}
	}
}
