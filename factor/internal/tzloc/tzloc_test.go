package tzloc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountry(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string
	}{
		{"Europe/Berlin", "DE"},
		{"Europe/Paris", "FR"},
		{"Asia/Calcutta", "IN"}, // link to Asia/Kolkata
		{"Asia/Kolkata", "IN"},
		{"America/New_York", "US"},
		{"US/Pacific", "US"}, // link to America/Los_Angeles
		{"US/Eastern", "US"},
		{"Europe/Kiev", "UA"}, // link to Europe/Kyiv
		{"Europe/Kyiv", "UA"},
		{"Australia/Sydney", "AU"},
		{"GB", "GB"},
		{"Japan", "JP"},
		{"NZ", "NZ"},
		{"Europe/Vatican", "VA"}, // in zone.tab, though a link to Europe/Rome
		{"Iceland", "IS"},        // a link to Africa/Abidjan, but names Reykjavik
	} {
		got, ok := Country(tc.name)
		assert.True(t, ok, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}

	for _, name := range []string{
		"UTC", "Etc/UTC", "Etc/GMT+5", "GMT", "Factory", "CET", "EST5EDT",
		"", "Nowhere/Land", "europe/berlin",
	} {
		got, ok := Country(name)
		assert.False(t, ok, name)
		assert.Empty(t, got, name)
	}
}

func TestTable(t *testing.T) {
	m, err := parseTable(zoneCountryCSV)
	require.NoError(t, err)
	require.Greater(t, len(m), 400)
	require.Less(t, len(m), 1000)
	for name, cc := range m {
		assert.True(t, isAlpha2(cc), "%s: %q", name, cc)
		assert.True(t, validName(name), name)
		assert.False(t, strings.HasPrefix(name, "Etc/"), name)
		got, ok := Country(name)
		assert.True(t, ok, name)
		assert.Equal(t, cc, got, name)
	}

	// The header names its source and version.
	assert.Contains(t, zoneCountryCSV, "# Source: IANA tz database")
	assert.Regexp(t, `version 20\d\d[a-z], public domain`, zoneCountryCSV)
}

// TestLookup checks that lookup finds in a table what parseTable reads in
// it, and nothing else.
func TestLookup(t *testing.T) {
	const data = "# a comment, XX\n# Factory,CET\ntz,alpha2\nEurope/Berlin,DE\n\nBerlin,XY\nAsia/Tokyo,JP"
	m, err := parseTable(data)
	require.NoError(t, err)
	for name, cc := range m {
		got, ok := lookup(data, name)
		assert.True(t, ok, name)
		assert.Equal(t, cc, got, name)
	}
	for _, name := range []string{"", "tz", "# a comment", "# Factory", "Europe", "Berlin,XY\nAsia/Tokyo", "Asia/Tok", "erlin", "Europe/Berlin,DE"} {
		got, ok := lookup(data, name)
		assert.False(t, ok, name)
		assert.Empty(t, got, name)
	}
	for _, data := range []string{"tz,alpha2\nA,DEX\n", "tz,alpha2\nA,D\n", "tz,alpha2\nA,de\n", "tz,alpha2\nA,DE,\n"} {
		_, ok := lookup(data, "A")
		assert.False(t, ok, data)
	}
}

func BenchmarkCountry(b *testing.B) {
	for _, name := range []string{"Europe/Berlin", "Etc/UTC"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Country(name)
			}
		})
	}
}

// parseTable parses lines "tz,alpha2" after "#" comment lines and a
// "tz,alpha2" header: the checks of the embedded table.
func parseTable(data string) (map[string]string, error) {
	m := make(map[string]string, 600)
	header := false
	for i, line := range strings.Split(data, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !header {
			if line != "tz,alpha2" {
				return nil, fmt.Errorf("line %d: header %q, want %q", i+1, line, "tz,alpha2")
			}
			header = true
			continue
		}
		name, cc, ok := strings.Cut(line, ",")
		if !ok || name == "" || !isAlpha2(cc) {
			return nil, fmt.Errorf("line %d: malformed row %q", i+1, line)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("line %d: %s again", i+1, name)
		}
		m[name] = cc
	}
	if !header {
		return nil, fmt.Errorf("no header")
	}
	return m, nil
}

func TestParseTable(t *testing.T) {
	m, err := parseTable("# comment\ntz,alpha2\nEurope/Berlin,DE\n\nAsia/Tokyo,JP\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"Europe/Berlin": "DE", "Asia/Tokyo": "JP"}, m)

	for _, bad := range []string{
		"",
		"Europe/Berlin,DE\n",
		"tz,alpha2\nEurope/Berlin\n",
		"tz,alpha2\nEurope/Berlin,de\n",
		"tz,alpha2\n,DE\n",
		"tz,alpha2\nEurope/Berlin,DE\nEurope/Berlin,DE\n",
	} {
		_, err := parseTable(bad)
		assert.Error(t, err, "%q", bad)
	}
}
