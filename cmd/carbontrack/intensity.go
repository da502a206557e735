package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

const intensityHelp = `Usage: carbontrack intensity [--zone Z | --region R] [--provider P] [--provider-url URL] [--forecast] [--json]

Prints the carbon intensity of electricity (g CO2e per kWh) for a zone, with its
source, its year (annual averages) or timestamp (live values), and which
fallback was taken if the provider asked could not answer.

Zones: a country as ISO alpha-2, alpha-3 or name (FR, FRA, France), "world";
regions: gcp:europe-west4, aws:us-east-1, azure:westeurope.
Providers: static (embedded tables, offline, the default); electricitymaps
(needs CARBONTRACK_ELECTRICITYMAPS_TOKEN; zone DE, US-CAL-CISO, ...); ukgrid
(Great Britain's Carbon Intensity API: zone GB for national, or an outward
postcode such as RG10); energidataservice (Denmark: zone DK1 or DK2). A live
provider falls back to the embedded value of the zone's country, then to the
world average, and says so.

Examples:
  carbontrack intensity --zone FR
  carbontrack intensity --region gcp:europe-north1 --json
  carbontrack intensity --provider ukgrid --zone RG10 --forecast
  carbontrack intensity --provider energidataservice --zone DK1 --json

Flags:
`

type intensityJSON struct {
	IntensityGPerKWh float64         `json:"intensity_g_per_kwh"`
	Provider         string          `json:"provider"`
	Zone             string          `json:"zone"`
	At               time.Time       `json:"at"`
	Year             *int            `json:"year"`
	Source           string          `json:"source"`
	Fallback         *string         `json:"fallback"`
	Forecast         []forecastPoint `json:"forecast,omitempty"`
	ForecastError    *string         `json:"forecast_error,omitempty"`
}

type forecastPoint struct {
	At               time.Time `json:"at"`
	IntensityGPerKWh float64   `json:"intensity_g_per_kwh"`
}

func runIntensity(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("intensity", intensityHelp, stderr)
	zone := fs.String("zone", os.Getenv("CARBONTRACK_ZONE"), "country or grid zone (env CARBONTRACK_ZONE)")
	region := fs.String("region", os.Getenv("CARBONTRACK_REGION"), "cloud region, e.g. gcp:europe-west4 (env CARBONTRACK_REGION)")
	provider := fs.String("provider", envOr("CARBONTRACK_PROVIDER", "static"), "static, electricitymaps, ukgrid or energidataservice (env CARBONTRACK_PROVIDER)")
	providerURL := fs.String("provider-url", os.Getenv("CARBONTRACK_PROVIDER_URL"), "base URL of the live provider's API (env CARBONTRACK_PROVIDER_URL)")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of one request to a live provider")
	forecast := fs.Bool("forecast", false, "also print the provider's forecast")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args, true); !ok {
		return code
	}
	if *zone != "" && *region != "" {
		fmt.Fprintln(stderr, "carbontrack intensity: give --zone or --region, not both")
		return 2
	}
	z := *zone
	if *region != "" {
		z = *region
	}
	p, err := buildProvider(*provider, z, *providerURL, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack intensity: %v\n", err)
		return 2
	}
	code := 0
	v, err := p.Intensity(ctx, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack intensity: %v\n", err)
		return 1
	}
	out := intensityJSON{IntensityGPerKWh: float64(v.Value), Provider: v.Provider, Zone: v.Zone, At: v.At.UTC(), Source: v.Source}
	if v.Year != 0 {
		out.Year = &v.Year
	}
	if v.Fallback != "" {
		out.Fallback = &v.Fallback
	}
	if *forecast {
		f, ok := p.(factor.Forecaster)
		if !ok {
			fmt.Fprintf(stderr, "carbontrack intensity: provider %s has no forecast; use electricitymaps, ukgrid or energidataservice\n", *provider)
			return 2
		}
		pts, err := f.Forecast(ctx)
		if err != nil {
			// The intensity itself is still worth printing.
			msg := err.Error()
			out.ForecastError = &msg
			code = 1
		}
		out.Forecast = make([]forecastPoint, 0, len(pts))
		for _, pt := range pts {
			out.Forecast = append(out.Forecast, forecastPoint{At: pt.At.UTC(), IntensityGPerKWh: float64(pt.Value)})
		}
	}
	if out.ForecastError != nil {
		fmt.Fprintf(stderr, "carbontrack intensity: forecast: %s\n", *out.ForecastError)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return code
	}
	zoneName := out.Zone
	if zoneName == "" {
		zoneName = "(none)"
	}
	fmt.Fprintf(stdout, "%.1f g CO2e/kWh  zone %s  provider %s\n", out.IntensityGPerKWh, zoneName, out.Provider)
	if out.Year != nil {
		fmt.Fprintf(stdout, "year:     %d (annual average)\n", *out.Year)
	} else {
		fmt.Fprintf(stdout, "at:       %s\n", out.At.Format(time.RFC3339))
	}
	fmt.Fprintf(stdout, "source:   %s\n", out.Source)
	if out.Fallback != nil {
		fmt.Fprintf(stdout, "fallback: %s\n", *out.Fallback)
	} else {
		fmt.Fprintln(stdout, "fallback: none")
	}
	if len(out.Forecast) > 0 {
		fmt.Fprintln(stdout, "forecast:")
		for _, pt := range out.Forecast {
			fmt.Fprintf(stdout, "  %s  %.1f\n", pt.At.Format(time.RFC3339), pt.IntensityGPerKWh)
		}
	}
	return code
}

// buildProvider returns the provider the flags ask for; a live one is chained
// to the embedded value of its zone (then the world average) and cached.
func buildProvider(name, zone, baseURL string, timeout time.Duration) (factor.Provider, error) {
	opts := []factor.Option{factor.WithTimeout(timeout)}
	if baseURL != "" {
		opts = append(opts, factor.WithBaseURL(baseURL))
	}
	var (
		live       factor.Provider
		staticZone = zone
		err        error
	)
	switch strings.ToLower(name) {
	case "static", "":
		return factor.Static(zone), nil
	case "electricitymaps":
		if zone == "" {
			return nil, errors.New("--provider electricitymaps needs --zone (e.g. DE, US-CAL-CISO)")
		}
		live, err = factor.NewElectricityMaps(zone, opts...)
	case "ukgrid":
		postcode := zone
		switch strings.ToUpper(zone) {
		case "", "GB", "UK", "GBR":
			postcode = ""
		default:
			postcode = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(zone), "uk:"), "gb:")
		}
		staticZone = "GB"
		live, err = factor.NewUKCarbonIntensity(strings.ToUpper(postcode), opts...)
	case "energidataservice":
		if zone == "" {
			return nil, errors.New("--provider energidataservice needs --zone DK1 or DK2")
		}
		live, err = factor.NewEnergiDataService(zone, opts...)
	default:
		return nil, fmt.Errorf("unknown provider %q: use static, electricitymaps, ukgrid or energidataservice", name)
	}
	if err != nil {
		return nil, err
	}
	chain, err := factor.NewChain([]factor.Provider{live, factor.Static(staticZone)}, opts...)
	if err != nil {
		return nil, err
	}
	return chain, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
