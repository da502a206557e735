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
	"fmt"
	"strings"
	"sync"
)

//go:generate go run gen.go -zoneinfo /usr/share/zoneinfo -out zone_country.csv

//go:embed zone_country.csv
var zoneCountryCSV string

// countries parses the embedded table once: time zone name to alpha-2.
var countries = sync.OnceValue(func() map[string]string {
	m, err := parseTable(zoneCountryCSV)
	if err != nil {
		panic(fmt.Sprintf("tzloc: embedded zone_country.csv: %v", err))
	}
	return m
})

// parseTable parses lines "tz,alpha2" after "#" comment lines and a
// "tz,alpha2" header.
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
		m[name] = cc
	}
	if !header {
		return nil, fmt.Errorf("no header")
	}
	return m, nil
}

// Country returns the ISO 3166-1 alpha-2 code of the country of IANA time
// zone name ("Europe/Berlin" -> "DE", "Asia/Calcutta" -> "IN", "US/Eastern"
// -> "US"); ok is false for names with no country ("UTC", "Etc/GMT+5",
// "Factory", "CET") and unknown names. Names are matched exactly, as the
// tz database spells them.
func Country(name string) (alpha2 string, ok bool) {
	alpha2, ok = countries()[name]
	return alpha2, ok
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
