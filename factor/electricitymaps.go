package factor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// ElectricityMapsURL is the default base URL of the Electricity Maps API.
	ElectricityMapsURL = "https://api.electricitymap.org"
	// ElectricityMapsTokenEnv is the environment variable the Electricity
	// Maps token is read from when WithToken is not given.
	ElectricityMapsTokenEnv = "CARBONTRACK_ELECTRICITYMAPS_TOKEN"

	emName = "electricitymaps"
	// emMaxAge is how old an hourly value may be for the time asked: its
	// hour plus one hour of publication delay.
	emMaxAge = 2 * time.Hour
	// emCooldown is the pause after a 429 without Retry-After.
	emCooldown = time.Minute
)

// ElectricityMaps is the live provider of Electricity Maps' API v3 (hourly,
// lifecycle by default, about 200 zones; an API token is needed). It answers
// from /v3/carbon-intensity/latest, and from /v3/carbon-intensity/history for
// times in the past 24 hours; it forecasts from
// /v3/carbon-intensity/forecast where the token allows. It is safe for
// concurrent use.
type ElectricityMaps struct {
	zone  string     // "" when located by coordinates
	where url.Values // zone=DE or lat=..&lon=..
	f     *fetcher
	now   func() time.Time
}

var (
	_ Provider   = (*ElectricityMaps)(nil)
	_ Forecaster = (*ElectricityMaps)(nil)
)

// NewElectricityMaps returns the Electricity Maps provider for zone, an
// Electricity Maps zone key such as "DE", "FR", "DK-DK1" or "US-CAL-CISO"
// (case-insensitive). With WithCoordinates, zone may be "" and the zone is the
// one at those coordinates. The token comes from WithToken or else the
// ElectricityMapsTokenEnv environment variable; without one New fails with
// ErrNoToken. Options: WithBaseURL, WithHTTPClient, WithTimeout, WithRetries,
// WithBackoff, WithMaxRetryAfter, WithLogger, WithClock. After a 429 without
// Retry-After it sends nothing for a minute.
func NewElectricityMaps(zone string, opts ...Option) (*ElectricityMaps, error) {
	o := buildOptions(opts)
	if err := o.validateHTTP(); err != nil {
		return nil, errorf(emName, "%w", err)
	}
	zone = strings.ToUpper(strings.TrimSpace(zone))
	where := url.Values{}
	switch {
	case zone != "" && o.coordsSet:
		return nil, errorf(emName, "%w: give a zone or WithCoordinates, not both", ErrInvalid)
	case zone != "":
		if !validEMZone(zone) {
			return nil, errorf(emName, "%w: zone %q is not an Electricity Maps zone key (like DE or US-CAL-CISO)", ErrInvalid, clip(zone))
		}
		where.Set("zone", zone)
	case o.coordsSet:
		where.Set("lat", strconv.FormatFloat(o.lat, 'f', -1, 64))
		where.Set("lon", strconv.FormatFloat(o.lon, 'f', -1, 64))
	default:
		return nil, errorf(emName, "%w: no zone and no coordinates", ErrInvalid)
	}
	token := o.token
	if !o.tokenSet {
		token = os.Getenv(ElectricityMapsTokenEnv)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errorf(emName, "%w: set %s or use WithToken", ErrNoToken, ElectricityMapsTokenEnv)
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return nil, errorf(emName, "%w: the token has a character that cannot go in an HTTP header", ErrInvalid)
		}
	}
	f := newFetcher(emName, ElectricityMapsURL, emCooldown, &o)
	f.guardToken("auth-token", token)
	return &ElectricityMaps{zone: zone, where: where, f: f, now: o.now}, nil
}

func validEMZone(z string) bool {
	if len(z) > 32 {
		return false
	}
	for _, r := range z {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Zone returns the Electricity Maps zone key, "" when located by coordinates.
func (e *ElectricityMaps) Zone() string { return e.zone }

// Intensity returns the hourly intensity that applies at at (now when zero):
// the latest value, or the history's value for earlier hours of the last 24.
// A null or implausible value is an error (ErrNoData, ErrImplausible).
func (e *ElectricityMaps) Intensity(ctx context.Context, at time.Time) (Intensity, error) {
	if at.IsZero() {
		at = e.now()
	}
	b, err := e.f.get(ctx, "/v3/carbon-intensity/latest", e.where)
	if err != nil {
		return Intensity{}, err
	}
	zone, s, factorType, err := decodeEMLatest(b)
	if err != nil {
		return Intensity{}, errorf(emName, "latest: %w", err)
	}
	if !s.At.After(at.Add(clockSkew)) {
		got, err := pick([]sample{s}, at, emMaxAge)
		if err != nil {
			return Intensity{}, errorf(emName, "latest: %w", err)
		}
		return e.intensity(zone, factorType, got), nil
	}
	// Asked for a time before the latest hour: use the history.
	b, err = e.f.get(ctx, "/v3/carbon-intensity/history", e.where)
	if err != nil {
		return Intensity{}, err
	}
	zone, ss, factorType, err := decodeEMSeries(b, "history")
	if err != nil {
		return Intensity{}, errorf(emName, "history: %w", err)
	}
	got, err := pick(ss, at, emMaxAge)
	if err != nil {
		return Intensity{}, errorf(emName, "history: %w", err)
	}
	return e.intensity(zone, factorType, got), nil
}

func (e *ElectricityMaps) intensity(zone, factorType string, s sample) Intensity {
	if zone == "" {
		zone = e.zone
	}
	src := "Electricity Maps"
	if factorType != "" {
		src += " (" + factorType + ")"
	}
	return Intensity{
		Value:     GramsPerKWh(s.Value),
		At:        s.At,
		Zone:      zone,
		Provider:  emName,
		Source:    src,
		Estimated: s.Estimated,
	}
}

// History returns the hourly intensities of the last 24 hours, oldest first.
func (e *ElectricityMaps) History(ctx context.Context) ([]Point, error) {
	return e.series(ctx, "/v3/carbon-intensity/history", "history")
}

// Forecast returns the hourly forecast, oldest first. Electricity Maps'
// free tier may not include it: the 4xx comes back as a *HTTPError.
func (e *ElectricityMaps) Forecast(ctx context.Context) ([]Point, error) {
	return e.series(ctx, "/v3/carbon-intensity/forecast", "forecast")
}

func (e *ElectricityMaps) series(ctx context.Context, path, key string) ([]Point, error) {
	b, err := e.f.get(ctx, path, e.where)
	if err != nil {
		return nil, err
	}
	_, ss, _, err := decodeEMSeries(b, key)
	if err != nil {
		return nil, errorf(emName, "%s: %w", key, err)
	}
	ps, err := toPoints(ss)
	if err != nil {
		return nil, errorf(emName, "%s: %w", key, err)
	}
	return ps, nil
}

// emPoint is one Electricity Maps carbon-intensity object:
// {"zone":"DE","carbonIntensity":302,"datetime":"2019-05-21T00:00:00.000Z",
// "updatedAt":"...","emissionFactorType":"lifecycle","isEstimated":false}.
type emPoint struct {
	Zone               string   `json:"zone"`
	CarbonIntensity    *float64 `json:"carbonIntensity"`
	Datetime           string   `json:"datetime"`
	EmissionFactorType string   `json:"emissionFactorType"`
	IsEstimated        bool     `json:"isEstimated"`
}

func (p emPoint) sample() (string, sample, error) {
	if p.Datetime == "" {
		return "", sample{}, fmt.Errorf("%w: no datetime", ErrBadResponse)
	}
	t, err := parseTime(p.Datetime, time.RFC3339Nano)
	if err != nil {
		return "", sample{}, err
	}
	return p.Zone, sample{At: t, Value: nullable(p.CarbonIntensity), Estimated: p.IsEstimated}, nil
}

// decodeEMLatest decodes a /latest body.
func decodeEMLatest(b []byte) (string, sample, string, error) {
	var p emPoint
	if err := json.Unmarshal(b, &p); err != nil {
		return "", sample{}, "", fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	zone, s, err := p.sample()
	return zone, s, p.EmissionFactorType, err
}

// decodeEMSeries decodes a /history ({"zone":..,"history":[..]}) or /forecast
// ({"zone":..,"forecast":[..],"updatedAt":..}) body; key names the array.
// Null values are kept as NaN for the caller to reject.
func decodeEMSeries(b []byte, key string) (string, []sample, string, error) {
	var body struct {
		Zone     string     `json:"zone"`
		History  *[]emPoint `json:"history"`
		Forecast *[]emPoint `json:"forecast"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return "", nil, "", fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	list := body.History
	if key == "forecast" {
		list = body.Forecast
	}
	if list == nil {
		return "", nil, "", fmt.Errorf("%w: no %q array", ErrBadResponse, key)
	}
	ss := make([]sample, 0, len(*list))
	factorType := ""
	for _, p := range *list {
		_, s, err := p.sample()
		if err != nil {
			return "", nil, "", err
		}
		if p.EmissionFactorType != "" {
			factorType = p.EmissionFactorType
		}
		ss = append(ss, s)
	}
	return body.Zone, ss, factorType, nil
}
