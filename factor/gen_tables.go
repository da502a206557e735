//go:build ignore

// gen_tables derives the embedded tables under data/ from the source files in
// the shared data folder. It runs at development time only (go generate); the
// library never reads the shared folder at run time.
//
//	go run gen_tables.go -in ../../shared/data/intensity -out data
//
// data/iso3166.csv, data/country_aliases.csv and data/aws_regions.csv are
// written by hand and are not touched here.
package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	in := flag.String("in", "../../shared/data/intensity", "folder with the source files")
	out := flag.String("out", "data", "folder to write the derived tables to")
	flag.Parse()
	if err := countries(*in, *out); err != nil {
		log.Fatal(err)
	}
	if err := gcp(*in, *out); err != nil {
		log.Fatal(err)
	}
	if err := azure(*in, *out); err != nil {
		log.Fatal(err)
	}
}

func countries(in, out string) error {
	b, err := os.ReadFile(filepath.Join(in, "country_energy_mix_owid.json"))
	if err != nil {
		return err
	}
	var src map[string]struct {
		ISO     string   `json:"iso_code"`
		Name    string   `json:"country_name"`
		GPerKWh *float64 `json:"carbon_intensity"`
		Year    int      `json:"year"`
	}
	if err := json.Unmarshal(b, &src); err != nil {
		return err
	}
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := [][]string{{"alpha3", "name", "g_per_kwh", "year"}}
	for _, k := range keys {
		r := src[k]
		if r.GPerKWh == nil {
			return fmt.Errorf("%s: no carbon_intensity", k)
		}
		if r.ISO != k {
			return fmt.Errorf("%s: iso_code %q differs from key", k, r.ISO)
		}
		rows = append(rows, []string{k, r.Name, num(*r.GPerKWh), strconv.Itoa(r.Year)})
	}
	return write(filepath.Join(out, "countries_owid.csv"), []string{
		"Carbon intensity of electricity by country, gCO2e/kWh (lifecycle), with the year of the value.",
		"Source: Our World in Data, energy dataset, carbon_intensity_elec, based on Ember and Energy Institute",
		"(Statistical Review of World Energy). Licence: CC BY 4.0. As packaged by the CodeCarbon project",
		"(MIT licence).",
		"Derived by gen_tables.go from country_energy_mix_owid.json: columns kept: iso_code, country_name,",
		"carbon_intensity, year.",
	}, rows)
}

func gcp(in, out string) error {
	recs, err := read(filepath.Join(in, "gcp_regions_2024.csv"))
	if err != nil {
		return err
	}
	rows := [][]string{{"region", "location", "g_per_kwh", "year"}}
	for i, r := range recs[1:] {
		if len(r) < 4 {
			return fmt.Errorf("gcp row %d: %d fields", i+2, len(r))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(r[3]), 64)
		if err != nil {
			return fmt.Errorf("gcp row %d: %w", i+2, err)
		}
		rows = append(rows, []string{strings.TrimSpace(r[0]), strings.TrimSpace(r[1]), num(v), "2024"})
	}
	return write(filepath.Join(out, "gcp_regions_2024.csv"), []string{
		"Google Cloud regions: average grid carbon intensity of the region's grid, gCO2e/kWh, year 2024.",
		"Source: GoogleCloudPlatform/region-carbon-info, data/yearly/2024.csv. Licence: Apache-2.0.",
		"Derived by gen_tables.go: columns kept: region, location, grid carbon intensity.",
	}, rows)
}

func azure(in, out string) error {
	recs, err := read(filepath.Join(in, "azure_regions_ccf.csv"))
	if err != nil {
		return err
	}
	rows := [][]string{{"region", "display_name", "location", "nerc_region", "g_per_kwh", "year", "source"}}
	for i, r := range recs[1:] {
		// The Finland Central row has a trailing extra comma: 6 fields.
		if len(r) < 5 {
			return fmt.Errorf("azure row %d: %d fields", i+2, len(r))
		}
		for _, extra := range r[5:] {
			if strings.TrimSpace(extra) != "" {
				return fmt.Errorf("azure row %d: unexpected extra field %q", i+2, extra)
			}
		}
		display := strings.TrimSpace(r[0])
		tons, err := strconv.ParseFloat(strings.TrimSpace(r[3]), 64)
		if err != nil {
			return fmt.Errorf("azure row %d: %w", i+2, err)
		}
		g := math.Round(tons*1e6*1e6) / 1e6 // metric t/kWh to g/kWh, rounded to 1e-6 g
		src := strings.TrimSpace(r[4])
		year := "0"
		switch src {
		case "EPA":
			// Cloud Carbon Footprint methodology: "the EPA's eGRID2019 Data", NERC region factors.
			src = "EPA eGRID2019 (" + strings.TrimSpace(r[2]) + ")"
			year = "2019"
		case "carbonfootprint.com":
			// carbonfootprint.com "emissions factors sources for 2020 electricity".
			year = "2020"
		}
		name := strings.ToLower(strings.ReplaceAll(display, " ", ""))
		rows = append(rows, []string{name, display, strings.TrimSpace(r[1]), strings.TrimSpace(r[2]), num(g), year, src})
	}
	return write(filepath.Join(out, "azure_regions.csv"), []string{
		"Azure regions: grid carbon intensity, gCO2e/kWh (converted from metric t/kWh x 1e6).",
		"Source: Cloud Carbon Footprint, ccf-coefficients/data/grid-emissions-factors-azure.csv. Licence: Apache-2.0.",
		"US values: EPA eGRID2019 NERC region factors; others: EEA, carbonfootprint.com (2020), EMA Singapore.",
		"year 0: the source does not state the year (CCF: annual averages of a year before 2020).",
		"region is the programmatic name (display name lower-cased, spaces removed: West Europe -> westeurope).",
		"Derived by gen_tables.go from azure_regions_ccf.csv.",
	}, rows)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func read(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	return r.ReadAll()
}

func write(path string, header []string, rows [][]string) error {
	var sb strings.Builder
	for _, h := range header {
		sb.WriteString("# " + h + "\n")
	}
	w := csv.NewWriter(&sb)
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}
