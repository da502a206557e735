package factor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

const (
	// EnergiDataServiceURL is the default base URL of Energinet's Energi Data
	// Service (Denmark).
	EnergiDataServiceURL = "https://api.energidataservice.dk"

	edsName = "energidataservice"
	// edsTimeLayout is the format of start and end in queries; the service
	// reads them as Danish time.
	edsTimeLayout = "2006-01-02T15:04"
	// edsWindow is asked on each side of the time wanted. The service reads
	// start and end as Danish time (UTC+1 or UTC+2) while we send UTC, so the
	// window is wide enough to hold the time wanted either way; records are
	// then chosen by their Minutes5UTC.
	edsWindow = 3 * time.Hour
	// edsMaxAge: 5-minute values, published with a delay of minutes.
	edsMaxAge = time.Hour
	// edsCooldown is the pause after a 429 without Retry-After: the service
	// bans a client for 5 minutes after 40 requests in 10 seconds, so
	// asking again sooner only extends the ban.
	edsCooldown = 5 * time.Minute
	// edsForecastHorizon is how far ahead the forecast is asked.
	edsForecastHorizon = 72 * time.Hour
)

// EnergiDataService is the live provider of Energinet's Energi Data Service
// for Denmark's price areas DK1 (west) and DK2 (east): realised CO2 emission
// intensity every 5 minutes (dataset CO2Emis) and its forecast (CO2EmisProg).
// No key is needed. After a 429 it honours Retry-After, or else sends nothing
// for 5 minutes. It is safe for concurrent use.
type EnergiDataService struct {
	area string // DK1 or DK2
	f    *fetcher
	now  func() time.Time
}

var (
	_ Provider   = (*EnergiDataService)(nil)
	_ Forecaster = (*EnergiDataService)(nil)
)

// NewEnergiDataService returns the provider for a Danish price area: "DK1" or
// "DK2", or Electricity Maps' "DK-DK1" and "DK-DK2" (case-insensitive).
// Options: WithBaseURL, WithHTTPClient, WithTimeout, WithRetries, WithBackoff,
// WithMaxRetryAfter, WithLogger, WithClock.
func NewEnergiDataService(priceArea string, opts ...Option) (*EnergiDataService, error) {
	o := buildOptions(opts)
	if err := o.validateHTTP(); err != nil {
		return nil, errorf(edsName, "%w", err)
	}
	area, ok := edsArea(priceArea)
	if !ok {
		return nil, errorf(edsName, "%w: price area %q is not DK1 or DK2", ErrInvalid, clip(priceArea))
	}
	return &EnergiDataService{area: area, f: newFetcher(edsName, EnergiDataServiceURL, edsCooldown, &o), now: o.now}, nil
}

// edsArea maps DK1, DK2, DK-DK1, DK-DK2 (any case) to DK1 or DK2.
func edsArea(s string) (string, bool) {
	a := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "DK-")
	return a, a == "DK1" || a == "DK2"
}

// Zone returns the zone in Electricity Maps' form: "DK-DK1" or "DK-DK2".
func (e *EnergiDataService) Zone() string { return "DK-" + e.area }

// Intensity returns the realised 5-minute intensity that applies at at (now
// when zero), from dataset CO2Emis.
func (e *EnergiDataService) Intensity(ctx context.Context, at time.Time) (Intensity, error) {
	if at.IsZero() {
		at = e.now()
	}
	q := e.query(at.Add(-edsWindow), at.Add(edsWindow), "Minutes5UTC DESC", 200)
	b, err := e.f.get(ctx, "/dataset/CO2Emis", q)
	if err != nil {
		return Intensity{}, err
	}
	ss, err := decodeEDS(b, e.area)
	if err != nil {
		return Intensity{}, errorf(edsName, "CO2Emis: %w", err)
	}
	got, err := pick(ss, at, edsMaxAge)
	if err != nil {
		return Intensity{}, errorf(edsName, "CO2Emis: %w", err)
	}
	return Intensity{
		Value:    GramsPerKWh(got.Value),
		At:       got.At,
		Zone:     e.Zone(),
		Provider: edsName,
		Source:   "Energi Data Service, Energinet (CO2Emis)",
	}, nil
}

// Forecast returns the 5-minute forecast from the current interval on, from
// dataset CO2EmisProg.
func (e *EnergiDataService) Forecast(ctx context.Context) ([]Point, error) {
	now := e.now()
	q := e.query(now.Add(-edsWindow), now.Add(edsForecastHorizon), "Minutes5UTC ASC", 2000)
	b, err := e.f.get(ctx, "/dataset/CO2EmisProg", q)
	if err != nil {
		return nil, err
	}
	ss, err := decodeEDS(b, e.area)
	if err != nil {
		return nil, errorf(edsName, "CO2EmisProg: %w", err)
	}
	// Keep the interval that holds now and those after it.
	var cur time.Time
	for _, s := range ss {
		if !s.At.After(now) && s.At.After(cur) {
			cur = s.At
		}
	}
	kept := ss[:0:0]
	for _, s := range ss {
		if !s.At.Before(cur) {
			kept = append(kept, s)
		}
	}
	ps, err := toPoints(kept)
	if err != nil {
		return nil, errorf(edsName, "CO2EmisProg: %w", err)
	}
	return ps, nil
}

func (e *EnergiDataService) query(start, end time.Time, sort string, limit int) url.Values {
	q := url.Values{}
	q.Set("start", start.UTC().Format(edsTimeLayout))
	q.Set("end", end.UTC().Format(edsTimeLayout))
	q.Set("filter", `{"PriceArea":["`+e.area+`"]}`)
	q.Set("columns", "Minutes5UTC,PriceArea,CO2Emission")
	q.Set("sort", sort)
	q.Set("limit", fmt.Sprint(limit))
	return q
}

// decodeEDS decodes a dataset body
// ({"total":..,"dataset":"CO2Emis","records":[{"Minutes5UTC":"2022-05-01T21:55:00",
// "PriceArea":"DK1","CO2Emission":131.0}]}), keeping the records of area.
// Null values are kept as NaN for the caller to reject.
func decodeEDS(b []byte, area string) ([]sample, error) {
	var body struct {
		Records *[]struct {
			Minutes5UTC string   `json:"Minutes5UTC"`
			PriceArea   string   `json:"PriceArea"`
			CO2Emission *float64 `json:"CO2Emission"`
		} `json:"records"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if body.Records == nil {
		return nil, fmt.Errorf("%w: no \"records\" array", ErrBadResponse)
	}
	var ss []sample
	for _, r := range *body.Records {
		if r.PriceArea != "" && !strings.EqualFold(r.PriceArea, area) {
			continue
		}
		t, err := parseTime(r.Minutes5UTC, "2006-01-02T15:04:05", time.RFC3339)
		if err != nil {
			return nil, err
		}
		ss = append(ss, sample{At: t, Value: nullable(r.CO2Emission)})
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("%w: no records for %s", ErrNoData, area)
	}
	return ss, nil
}
