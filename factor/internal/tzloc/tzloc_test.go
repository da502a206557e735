package tzloc

import (
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
	m := countries()
	require.Greater(t, len(m), 400)
	require.Less(t, len(m), 1000)
	for name, cc := range m {
		assert.True(t, isAlpha2(cc), "%s: %q", name, cc)
		assert.True(t, validName(name), name)
		assert.False(t, strings.HasPrefix(name, "Etc/"), name)
	}

	// The header names its source and version.
	assert.Contains(t, zoneCountryCSV, "# Source: IANA tz database")
	assert.Regexp(t, `version 20\d\d[a-z], public domain`, zoneCountryCSV)
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
	} {
		_, err := parseTable(bad)
		assert.Error(t, err, "%q", bad)
	}
}
