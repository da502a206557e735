package factor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

const (
	// UKCarbonIntensityURL is the default base URL of Great Britain's
	// Carbon Intensity API (National Energy System Operator).
	UKCarbonIntensityURL = "https://api.carbonintensity.org.uk"

	ukName = "carbonintensity.org.uk"
	// ukTimeLayout is the API's time format: minutes, no seconds, Z.
	ukTimeLayout = "2006-01-02T15:04Z"
	// ukMaxAge: half-hourly periods, plus half an hour of delay.
	ukMaxAge = time.Hour
	// ukCooldown is the pause after a 429 without Retry-After.
	ukCooldown = time.Minute
	// ukPeriod30 is the API's period, half an hour, aligned to :00 and :30.
	ukPeriod30 = 30 * time.Minute
	// ukRangeMargin is asked on each side of a past time.
	ukRangeMargin = 30 * time.Minute
)

// UKCarbonIntensity is the live provider of Great Britain's Carbon Intensity
// API (half-hourly, no key): national, or regional by outward postcode. It is
// safe for concurrent use.
type UKCarbonIntensity struct {
	postcode string // outward code; "" for national
	f        *fetcher
	now      func() time.Time
}

var (
	_ Provider   = (*UKCarbonIntensity)(nil)
	_ Forecaster = (*UKCarbonIntensity)(nil)
)

// NewUKCarbonIntensity returns the provider for Great Britain: national when
// postcode is "", else the region of the outward postcode ("RG10"; a full
// postcode "RG10 9AB" is cut to its outward part, which is all the API
// takes). National values are actual when the API has them and else its
// forecast (Estimated); regional values are the API's forecasts (Estimated).
// Options: WithBaseURL, WithHTTPClient, WithTimeout, WithRetries, WithBackoff,
// WithMaxRetryAfter, WithLogger, WithClock. After a 429 without Retry-After
// it sends nothing for a minute.
func NewUKCarbonIntensity(postcode string, opts ...Option) (*UKCarbonIntensity, error) {
	o := buildOptions(opts)
	if err := o.validateHTTP(); err != nil {
		return nil, errorf(ukName, "%w", err)
	}
	pc := strings.ToUpper(strings.TrimSpace(postcode))
	if f := strings.Fields(pc); len(f) > 0 {
		pc = f[0]
	}
	if pc != "" && !validOutwardCode(pc) {
		return nil, errorf(ukName, "%w: %q is not a UK outward postcode (like RG10 or SW1A)", ErrInvalid, clip(postcode))
	}
	return &UKCarbonIntensity{postcode: pc, f: newFetcher(ukName, UKCarbonIntensityURL, ukCooldown, &o), now: o.now}, nil
}

// validOutwardCode checks the shape of a UK outward code: area (1-2 letters),
// district (a digit, then a digit or letter optionally).
func validOutwardCode(pc string) bool {
	i := 0
	for i < len(pc) && i < 2 && pc[i] >= 'A' && pc[i] <= 'Z' {
		i++
	}
	if i == 0 || i >= len(pc) || pc[i] < '0' || pc[i] > '9' {
		return false
	}
	rest := pc[i+1:]
	return rest == "" || len(rest) == 1 && (rest[0] >= '0' && rest[0] <= '9' || rest[0] >= 'A' && rest[0] <= 'Z')
}

// Zone returns "GB" for national, else "GB:" and the outward postcode.
func (u *UKCarbonIntensity) Zone() string {
	if u.postcode == "" {
		return "GB"
	}
	return "GB:" + u.postcode
}

// Intensity returns the half-hourly intensity that applies at at (now when
// zero): from /intensity or /regional/postcode/{pc} for the current half
// hour, else from /intensity/{from}/{to} or
// /regional/intensity/{from}/{to}/postcode/{pc}.
func (u *UKCarbonIntensity) Intensity(ctx context.Context, at time.Time) (Intensity, error) {
	now := u.now()
	if at.IsZero() {
		at = now
	}
	var path string
	if !at.Before(now.Truncate(ukPeriod30)) && !at.After(now.Add(clockSkew)) {
		// In the current half hour (periods start at :00 and :30 UTC).
		path = "/intensity"
		if u.postcode != "" {
			path = "/regional/postcode/" + url.PathEscape(u.postcode)
		}
	} else {
		from := at.Add(-ukRangeMargin).UTC().Format(ukTimeLayout)
		to := at.Add(ukRangeMargin).UTC().Format(ukTimeLayout)
		path = "/intensity/" + from + "/" + to
		if u.postcode != "" {
			path = "/regional/intensity/" + from + "/" + to + "/postcode/" + url.PathEscape(u.postcode)
		}
	}
	b, err := u.f.get(ctx, path, nil)
	if err != nil {
		return Intensity{}, err
	}
	periods, region, err := decodeUK(b)
	if err != nil {
		return Intensity{}, errorf(ukName, "%w", err)
	}
	ss := make([]sample, len(periods))
	for i, p := range periods {
		ss[i] = p.best()
	}
	got, err := pick(ss, at, ukMaxAge)
	if err != nil {
		return Intensity{}, errorf(ukName, "%w", err)
	}
	return u.intensity(got, region), nil
}

func (u *UKCarbonIntensity) intensity(s sample, region string) Intensity {
	src := "Carbon Intensity API, National Energy System Operator (GB)"
	if region != "" {
		src += ", region " + region
	}
	return Intensity{
		Value:     GramsPerKWh(s.Value),
		At:        s.At,
		Zone:      u.Zone(),
		Provider:  ukName,
		Source:    src,
		Estimated: s.Estimated,
	}
}

// Forecast returns the half-hourly forecast for the next 24 hours from
// /intensity/{now}/fw24h or /regional/intensity/{now}/fw24h/postcode/{pc}.
func (u *UKCarbonIntensity) Forecast(ctx context.Context) ([]Point, error) {
	from := u.now().UTC().Format(ukTimeLayout)
	path := "/intensity/" + from + "/fw24h"
	if u.postcode != "" {
		path = "/regional/intensity/" + from + "/fw24h/postcode/" + url.PathEscape(u.postcode)
	}
	b, err := u.f.get(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	periods, _, err := decodeUK(b)
	if err != nil {
		return nil, errorf(ukName, "forecast: %w", err)
	}
	ss := make([]sample, len(periods))
	for i, p := range periods {
		ss[i] = sample{At: p.from, Value: p.forecast, Estimated: true}
	}
	ps, err := toPoints(ss)
	if err != nil {
		return nil, errorf(ukName, "forecast: %w", err)
	}
	return ps, nil
}

// ukPeriod is one decoded half hour.
type ukPeriod struct {
	from, to         time.Time
	forecast, actual float64 // NaN when null or absent
}

// best is the actual value when there is one, else the forecast (estimated).
func (p ukPeriod) best() sample {
	if !math.IsNaN(p.actual) {
		return sample{At: p.from, Value: p.actual}
	}
	return sample{At: p.from, Value: p.forecast, Estimated: true}
}

// ukItem is an element of "data": a national period
// ({"from","to","intensity":{"forecast","actual","index"}}) or a region
// ({"regionid","shortname","postcode","data":[periods]}).
type ukItem struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Intensity *struct {
		Forecast *float64 `json:"forecast"`
		Actual   *float64 `json:"actual"`
	} `json:"intensity"`
	RegionID  *int            `json:"regionid"`
	ShortName string          `json:"shortname"`
	Data      json.RawMessage `json:"data"`
}

// decodeUK decodes any of the API's intensity bodies: {"data":[periods]}
// (national), {"data":[region]} (regional, current) or {"data":region}
// (regional, time range: "data" is an object). It returns the periods, oldest
// first as sent, and the region's short name ("" for national).
func decodeUK(b []byte) ([]ukPeriod, string, error) {
	var top struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	items, err := ukItems(top.Data)
	if err != nil {
		return nil, "", err
	}
	if len(items) == 0 {
		return nil, "", fmt.Errorf("%w: empty \"data\"", ErrNoData)
	}
	if items[0].RegionID != nil || len(items[0].Data) > 0 {
		// Regional: the first (and only) region's periods.
		region := items[0]
		periods, err := ukItems(region.Data)
		if err != nil {
			return nil, "", err
		}
		ps, err := ukPeriods(periods)
		if err != nil {
			return nil, "", err
		}
		return ps, region.ShortName, nil
	}
	ps, err := ukPeriods(items)
	return ps, "", err
}

// ukItems decodes "data", which is a list or a single object.
func ukItems(raw json.RawMessage) ([]ukItem, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("%w: no \"data\"", ErrBadResponse)
	}
	switch raw[0] {
	case '[':
		var items []ukItem
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		return items, nil
	case '{':
		var item ukItem
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		return []ukItem{item}, nil
	default:
		return nil, fmt.Errorf("%w: \"data\" is neither a list nor an object", ErrBadResponse)
	}
}

func ukPeriods(items []ukItem) ([]ukPeriod, error) {
	ps := make([]ukPeriod, 0, len(items))
	for _, it := range items {
		if it.Intensity == nil {
			return nil, fmt.Errorf("%w: a period without \"intensity\"", ErrBadResponse)
		}
		from, err := parseTime(it.From, ukTimeLayout, time.RFC3339)
		if err != nil {
			return nil, err
		}
		to, err := parseTime(it.To, ukTimeLayout, time.RFC3339)
		if err != nil {
			return nil, err
		}
		if !to.After(from) {
			return nil, fmt.Errorf("%w: period %s to %s ends before it starts", ErrBadResponse, clip(it.From), clip(it.To))
		}
		ps = append(ps, ukPeriod{
			from:     from,
			to:       to,
			forecast: nullable(it.Intensity.Forecast),
			actual:   nullable(it.Intensity.Actual),
		})
	}
	return ps, nil
}
