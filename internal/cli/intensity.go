package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

const intensityHelp = `Usage: carbontrack intensity [--zone Z | --region R] [--provider P] [--provider-url URL] [--forecast] [--json]

Prints the carbon intensity of electricity (g CO2e per kWh) for a zone, with its
source, its year (annual averages) or timestamp (live values), and which
fallback was taken if the provider asked could not answer.

Zones: a country as ISO alpha-2, alpha-3 or name (FR, FRA, France), "world";
regions: gcp:europe-west4, aws:us-east-1, azure:westeurope; Electricity Maps
zones: DK-DK1, US-CAL-CISO. An unknown zone is an error (exit 2) that names the
closest ones. Without a zone the machine is located: a cloud metadata service
(GCP, AWS, Azure; off with CARBONTRACK_CLOUD_METADATA=off), then the system's
time zone, then the world average with a warning.
Providers: static (embedded tables, offline, the default); electricitymaps
(needs CARBONTRACK_ELECTRICITYMAPS_TOKEN; zone DE, US-CAL-CISO, ...); ukgrid
(Great Britain's Carbon Intensity API: zone GB for national, or an outward
postcode such as RG10); energidataservice (Denmark: zone DK1 or DK2). A live
provider falls back to the embedded value of the zone's country, and says so;
--timeout bounds the whole command (every attempt, the forecast included).

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
	ZoneFrom         string          `json:"zone_from"`
	Forecast         []forecastPoint `json:"forecast,omitempty"`
	ForecastError    *string         `json:"forecast_error,omitempty"`
}

type forecastPoint struct {
	At               time.Time `json:"at"`
	IntensityGPerKWh float64   `json:"intensity_g_per_kwh"`
}

func runIntensity(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("intensity", intensityHelp, stderr)
	env := f.env
	f.String("zone", "", env("zone", zoneEnv, "country or grid zone (default: located, see the README)"))
	f.String("region", "", env("region", regionEnv, "cloud region, e.g. gcp:europe-west4"))
	provider := f.String("provider", factor.ProviderStatic, env("provider", "CARBONTRACK_PROVIDER", strings.Join(factor.ProviderNames(), ", ")))
	providerURL := f.String("provider-url", "", env("provider-url", "CARBONTRACK_PROVIDER_URL", "base URL of the live provider's API"))
	timeout := f.Duration("timeout", 10*time.Second, "total time for the command's requests: every attempt, the forecast included")
	forecast := f.bool("forecast", false, "also print the provider's forecast")
	asJSON := f.bool("json", false, "print JSON")
	if code, ok := f.parseNoArgs(args); !ok {
		return code
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "carbontrack intensity: %s\n", plainError(err))
		return code
	}
	if *timeout <= 0 {
		return f.usageError("--timeout %v is not positive", *timeout)
	}
	tctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// ukgrid serves Great Britain whatever the machine's location.
	skip := strings.EqualFold(strings.TrimSpace(*provider), factor.ProviderUKGrid)
	loc, err := locateZone(tctx, f, skip, nil, "carbontrack intensity")
	if err != nil {
		return fail(2, err)
	}
	opts := []factor.Option{factor.WithTimeout(*timeout)}
	if *providerURL != "" {
		opts = append(opts, factor.WithBaseURL(*providerURL))
	}
	p, note, err := factor.ForLocation(*provider, loc, opts...)
	if err != nil {
		if errors.Is(err, factor.ErrUnknownZone) && loc.From != "" {
			err = fmt.Errorf("%s: %w", loc.From, err)
		}
		return fail(2, err)
	}
	code := 0
	v, err := intensityNow(tctx, p, *provider)
	if err != nil {
		return fail(1, err)
	}
	if note != "" {
		v.Fallback = note
	}
	if loc = loc.Served(*provider, v); loc.Warning != "" {
		fmt.Fprintf(stderr, "carbontrack intensity: warning: %s\n", loc.Warning)
	}
	out := intensityJSON{IntensityGPerKWh: float64(v.Value), Provider: v.Provider, Zone: v.Zone, At: v.At.UTC(),
		Source: v.Source, ZoneFrom: loc.From}
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
		pts, err := f.Forecast(tctx)
		if err != nil {
			// The intensity itself is still worth printing.
			msg := plainError(err)
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
		if err := encodeJSON(stdout, out); err != nil {
			return fail(1, err)
		}
		return code
	}
	zoneName := out.Zone
	if zoneName == "" {
		zoneName = "(none)"
	}
	fmt.Fprintf(stdout, "%.1f g CO2e/kWh  zone %s  provider %s\n", out.IntensityGPerKWh, zoneName, out.Provider)
	if l := loc.String(); l != "" {
		fmt.Fprintf(stdout, "zone:     %s\n", l)
	}
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
