package factor

//go:generate go run gen_tables.go -in ../../shared/data/intensity -out data

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// The embedded tables. Strings, so they cannot be changed at run time.
var (
	//go:embed data/countries_owid.csv
	countriesCSV string
	//go:embed data/iso3166.csv
	isoCSV string
	//go:embed data/country_aliases.csv
	aliasesCSV string
	//go:embed data/gcp_regions_2024.csv
	gcpCSV string
	//go:embed data/azure_regions.csv
	azureCSV string
	//go:embed data/aws_regions.csv
	awsCSV string
)

// Attributions, as Intensity.Source carries them.
const (
	sourceOWID  = "Our World in Data, based on Ember and Energy Institute (CC BY 4.0)"
	sourceGCP   = "Google Cloud region-carbon-info 2024 (Apache-2.0)"
	sourceCCF   = "Cloud Carbon Footprint (Apache-2.0)"
	cloudGCP    = "gcp"
	cloudAWS    = "aws"
	cloudAzure  = "azure"
	worldZone   = "world"
	staticName  = "static"
	maxZoneSize = 200 // bytes; longer zones are rejected before any lookup
)

// country is one ISO 3166-1 country and, when OWID has it, its intensity.
type country struct {
	alpha2, alpha3, name string
	owidName             string
	value                float64
	year                 int
	hasData              bool
}

// region is one cloud region and its intensity.
type region struct {
	cloud, name, location string
	value                 float64
	year                  int
	source                string
	country               *country // non-nil when the value is the country's
}

// tables holds the parsed embedded data. It is built once and never changed.
type tables struct {
	all     []*country          // in ISO alpha-2 order
	byKey   map[string]*country // lower-case alpha-2, alpha-3, names, aliases
	byA2    map[string]*country // upper-case alpha-2
	regions map[string]*region  // "gcp:europe-west4"
	bare    map[string][]string // "europe-west4" -> ["gcp:europe-west4"], for hints
}

// loadTables parses the embedded tables on first use. The result is
// immutable: it is the package's only package-level value besides the
// embedded strings and is never written after the first call.
var loadTables = sync.OnceValues(parseTables)

func parseTables() (*tables, error) {
	iso, err := readCSV("iso3166.csv", isoCSV, []string{"alpha2", "alpha3", "name"})
	if err != nil {
		return nil, err
	}
	// The country maps at their sizes, not grown row by row: byKey holds
	// two codes and about one name a country (two where OWID's differs),
	// and the aliases.
	t := &tables{
		all:     make([]*country, 0, len(iso)),
		byKey:   make(map[string]*country, 3*len(iso)+strings.Count(aliasesCSV, "\n")),
		byA2:    make(map[string]*country, len(iso)),
		regions: map[string]*region{},
		bare:    map[string][]string{},
	}
	byA3 := make(map[string]*country, len(iso))
	for _, r := range iso {
		c := &country{alpha2: r[0], alpha3: r[1], name: r[2]}
		if len(c.alpha2) != 2 || len(c.alpha3) != 3 {
			return nil, fmt.Errorf("factor: embedded iso3166.csv: bad codes %q %q", c.alpha2, c.alpha3)
		}
		if t.byA2[c.alpha2] != nil || byA3[c.alpha3] != nil {
			return nil, fmt.Errorf("factor: embedded iso3166.csv: duplicate %s/%s", c.alpha2, c.alpha3)
		}
		t.byA2[c.alpha2], byA3[c.alpha3] = c, c
		t.all = append(t.all, c)
		t.byKey[normKey(c.alpha2)], t.byKey[normKey(c.alpha3)] = c, c
	}
	owid, err := readCSV("countries_owid.csv", countriesCSV, []string{"alpha3", "name", "g_per_kwh", "year"})
	if err != nil {
		return nil, err
	}
	for _, r := range owid {
		c := byA3[r[0]]
		if c == nil {
			return nil, fmt.Errorf("factor: embedded countries_owid.csv: %s is not in iso3166.csv", r[0])
		}
		if c.value, c.year, err = parseValueYear(r[2], r[3]); err != nil {
			return nil, fmt.Errorf("factor: embedded countries_owid.csv: %s: %w", r[0], err)
		}
		c.owidName, c.hasData = r[1], true
	}
	// Names after codes, so a name never shadows a code.
	for _, c := range t.all {
		for _, n := range []string{c.name, c.owidName} {
			if k := normKey(n); k != "" && t.byKey[k] == nil {
				t.byKey[k] = c
			}
		}
	}
	aliases, err := readCSV("country_aliases.csv", aliasesCSV, []string{"alias", "alpha2"})
	if err != nil {
		return nil, err
	}
	for _, r := range aliases {
		c := t.byA2[r[1]]
		if c == nil {
			return nil, fmt.Errorf("factor: embedded country_aliases.csv: %s is not in iso3166.csv", r[1])
		}
		if k := normKey(r[0]); t.byKey[k] == nil {
			t.byKey[k] = c
		}
	}
	gcp, err := readCSV("gcp_regions_2024.csv", gcpCSV, []string{"region", "location", "g_per_kwh", "year"})
	if err != nil {
		return nil, err
	}
	for _, r := range gcp {
		v, y, err := parseValueYear(r[2], r[3])
		if err != nil {
			return nil, fmt.Errorf("factor: embedded gcp_regions_2024.csv: %s: %w", r[0], err)
		}
		t.addRegion(&region{cloud: cloudGCP, name: r[0], location: r[1], value: v, year: y, source: sourceGCP})
	}
	azure, err := readCSV("azure_regions.csv", azureCSV,
		[]string{"region", "display_name", "location", "nerc_region", "g_per_kwh", "year", "source"})
	if err != nil {
		return nil, err
	}
	for _, r := range azure {
		v, y, err := parseValueYear(r[4], r[5])
		if err != nil {
			return nil, fmt.Errorf("factor: embedded azure_regions.csv: %s: %w", r[0], err)
		}
		t.addRegion(&region{cloud: cloudAzure, name: r[0], location: r[2], value: v, year: y,
			source: sourceCCF + ": " + r[6]})
	}
	aws, err := readCSV("aws_regions.csv", awsCSV,
		[]string{"region", "location", "country_alpha2", "g_per_kwh", "year", "source"})
	if err != nil {
		return nil, err
	}
	for _, r := range aws {
		reg := &region{cloud: cloudAWS, name: r[0], location: r[1]}
		c := t.byA2[r[2]]
		switch {
		case r[3] != "":
			if reg.value, reg.year, err = parseValueYear(r[3], r[4]); err != nil {
				return nil, fmt.Errorf("factor: embedded aws_regions.csv: %s: %w", r[0], err)
			}
			reg.source = sourceCCF + ": " + r[5]
		case c != nil && c.hasData:
			reg.value, reg.year, reg.country = c.value, c.year, c
			reg.source = sourceOWID + ": country " + c.alpha2 + " of the region"
		default:
			return nil, fmt.Errorf("factor: embedded aws_regions.csv: %s: no value and no country data for %q", r[0], r[2])
		}
		t.addRegion(reg)
	}
	return t, nil
}

func (t *tables) addRegion(r *region) {
	key := r.cloud + ":" + r.name
	t.regions[key] = r
	t.bare[r.name] = append(t.bare[r.name], key)
}

// readCSV parses one embedded table: '#' lines are comments, the first record
// is the header and must be want.
func readCSV(name, data string, want []string) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = len(want)
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("factor: embedded %s: %w", name, err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("factor: embedded %s: header is not %v", name, want)
	}
	return recs[1:], nil
}

func parseValueYear(v, y string) (float64, int, error) {
	value, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, 0, err
	}
	if err := checkPlausible(value); err != nil {
		return 0, 0, err
	}
	year, err := strconv.Atoi(y)
	if err != nil {
		return 0, 0, err
	}
	return value, year, nil
}

// normKey folds a country code or name for matching: lower case, single
// spaces, no surrounding space.
func normKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
