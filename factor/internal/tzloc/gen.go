//go:build ignore

// gen derives zone_country.csv, the table of IANA time zone names and
// their ISO 3166-1 alpha-2 countries, from the public-domain tables of an
// installed IANA tz database:
//
//	go run gen.go -zoneinfo /usr/share/zoneinfo -out zone_country.csv
//
// Every zone in zone.tab gets its country from zone.tab. Every link (an
// "L TARGET LINKNAME" line of tzdata.zi) whose name is not in zone.tab gets
// the country of its target, following links to links. A few links name a
// place in another country than their merged target; those take the
// country of the zone.tab location they name (see aliases). Names with no
// country (Etc/*, UTC, GMT, Factory, and the POSIX-style legacy names such
// as CET or EST5EDT) are left out. The output depends only on the input
// files.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// legacy are the POSIX-style names kept for compatibility. They stand for
// a rule, not a place, even where tzdata links them to a zone in some
// country (CET to Europe/Brussels, EST to America/Panama, ...).
var legacy = map[string]bool{
	"CET": true, "CST6CDT": true, "EET": true, "EST": true, "EST5EDT": true,
	"HST": true, "MET": true, "MST": true, "MST7MDT": true, "PST8PDT": true,
	"WET": true,
}

// aliases maps links that name a place outside their target's country to
// the zone.tab location they name, as given by the "#=" notes and section
// comments of the tz database's backward file (for example, Iceland links
// to Africa/Abidjan but means Atlantic/Reykjavik).
var aliases = map[string]string{
	"Africa/Asmera":         "Africa/Asmara",
	"Africa/Timbuktu":       "Africa/Bamako",
	"America/Coral_Harbour": "America/Atikokan",
	"America/Virgin":        "America/St_Thomas",
	"Antarctica/South_Pole": "Antarctica/McMurdo",
	"Atlantic/Jan_Mayen":    "Arctic/Longyearbyen",
	"Iceland":               "Atlantic/Reykjavik",
	"Pacific/Johnston":      "Pacific/Midway",
	"Pacific/Ponape":        "Pacific/Pohnpei",
	"Pacific/Truk":          "Pacific/Chuuk",
	"Pacific/Yap":           "Pacific/Chuuk",
}

func main() {
	zoneinfo := flag.String("zoneinfo", "/usr/share/zoneinfo", "directory holding zone.tab and tzdata.zi")
	out := flag.String("out", "zone_country.csv", "output file")
	flag.Parse()

	countries, err := readZoneTab(filepath.Join(*zoneinfo, "zone.tab"))
	if err != nil {
		log.Fatal(err)
	}
	version, links, err := readTzdataZi(filepath.Join(*zoneinfo, "tzdata.zi"))
	if err != nil {
		log.Fatal(err)
	}

	rows := make(map[string]string, len(countries)+len(links))
	for name, cc := range countries {
		rows[name] = cc
	}
	for name, target := range links {
		if _, ok := countries[name]; ok || legacy[name] {
			continue // zone.tab wins; legacy names have no country.
		}
		if alias, ok := aliases[name]; ok {
			cc, ok := countries[alias]
			if !ok {
				log.Fatalf("alias %s of %s is not in zone.tab", alias, name)
			}
			rows[name] = cc
			continue
		}
		// Follow links to links; a target outside zone.tab (Etc/UTC,
		// Etc/GMT, ...) has no country.
		for range 8 {
			if cc, ok := countries[target]; ok {
				rows[name] = cc
				break
			}
			next, ok := links[target]
			if !ok {
				break
			}
			target = next
		}
	}

	names := make([]string, 0, len(rows))
	for name := range rows {
		names = append(names, name)
	}
	slices.Sort(names)

	var b bytes.Buffer
	fmt.Fprintf(&b, "# IANA time zone name to ISO 3166-1 alpha-2 country code.\n")
	fmt.Fprintf(&b, "# Source: IANA tz database (https://www.iana.org/time-zones), version %s, public domain.\n", version)
	fmt.Fprintf(&b, "# Derived by gen.go from zone.tab (zone to country) and the link lines of tzdata.zi:\n")
	fmt.Fprintf(&b, "# a link not in zone.tab takes its target's country, except a few merged links that\n")
	fmt.Fprintf(&b, "# take the country of the place they name. Names with no country (Etc/*, UTC, GMT,\n")
	fmt.Fprintf(&b, "# Factory, CET, EST5EDT, ...) are left out. Do not edit; run go generate.\n")
	fmt.Fprintf(&b, "tz,alpha2\n")
	for _, name := range names {
		fmt.Fprintf(&b, "%s,%s\n", name, rows[name])
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// readZoneTab returns the country of each zone in zone.tab, whose lines
// are "CC<TAB>coordinates<TAB>TZ[<TAB>comments]".
func readZoneTab(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	countries := make(map[string]string)
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 3 || !isAlpha2(fields[0]) || strings.ContainsAny(fields[2], ", ") {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		countries[fields[2]] = fields[0]
	}
	return countries, s.Err()
}

// readTzdataZi returns the version from the first line of tzdata.zi
// ("# version 2025b") and its links, link name to target.
func readTzdataZi(path string) (string, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()

	var version string
	links := make(map[string]string)
	s := bufio.NewScanner(f)
	for first := true; s.Scan(); first = false {
		line := s.Text()
		if first {
			v, ok := strings.CutPrefix(line, "# version ")
			if !ok || v == "" {
				return "", nil, fmt.Errorf("%s: no version line", path)
			}
			version = strings.TrimSpace(v)
			continue
		}
		if !strings.HasPrefix(line, "L ") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || strings.Contains(fields[2], ",") {
			return "", nil, fmt.Errorf("%s: malformed link %q", path, line)
		}
		links[fields[2]] = fields[1]
	}
	if err := s.Err(); err != nil {
		return "", nil, err
	}
	if version == "" {
		return "", nil, fmt.Errorf("%s: empty file", path)
	}
	return version, links, nil
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
