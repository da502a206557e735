// Package tzloc maps the machine's time zone to a country, offline.
//
// It guesses where a machine is when the user named no grid zone: FindLocal
// finds the IANA time zone name the machine runs in, and Country maps that
// name to an ISO 3166-1 alpha-2 code using an embedded table derived from
// the IANA tz database (public domain; see zone_country.csv and gen.go).
// A time zone is a hint, not a location: it says nothing about a machine
// whose clock is set to UTC.
package tzloc

import (
	_ "embed"
	"strings"
)

//go:generate go run gen.go -zoneinfo /usr/share/zoneinfo -out zone_country.csv

//go:embed zone_country.csv
var zoneCountryCSV string

// Country returns the ISO 3166-1 alpha-2 code of the country of IANA time
// zone name ("Europe/Berlin" -> "DE", "Asia/Calcutta" -> "IN", "US/Eastern"
// -> "US"); ok is false for names with no country ("UTC", "Etc/GMT+5",
// "Factory", "CET") and unknown names. Names are matched exactly, as the
// tz database spells them.
//
// The table is searched as text, not parsed: a program looks up one or two
// names, and a map of the table's 540 rows would cost it far more than the
// searches (0.2 ms and 50 KB against a microsecond each).
func Country(name string) (alpha2 string, ok bool) {
	return lookup(zoneCountryCSV, name)
}

// lookup returns the country of the row of name in data, a table that
// parseTable accepts (lines "tz,alpha2" after "#" comment lines and a
// "tz,alpha2" header, each name once).
func lookup(data, name string) (string, bool) {
	if name == "" || name[0] == '#' || strings.ContainsAny(name, ",\n") {
		return "", false
	}
	for from := 0; ; {
		i := strings.Index(data[from:], name)
		if i < 0 {
			return "", false
		}
		i += from
		from = i + 1
		// A row starts a line and its name ends at the comma; the first
		// line, a comment, is no row.
		if i == 0 || data[i-1] != '\n' {
			continue
		}
		rest := data[i+len(name):]
		if len(rest) < 3 || rest[0] != ',' || !isAlpha2(rest[1:3]) || len(rest) > 3 && rest[3] != '\n' {
			continue
		}
		return rest[1:3], true
	}
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
