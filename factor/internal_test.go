package factor

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The decoders face the network: they must never panic, and whatever they
// accept must come out plausible or be rejected by pick/toPoints.

func FuzzDecodeElectricityMaps(f *testing.F) {
	for _, s := range []string{
		`{"zone":"DE","carbonIntensity":302,"datetime":"2019-05-21T00:00:00.000Z","updatedAt":"2019-05-21T00:06:15.000Z","emissionFactorType":"lifecycle","isEstimated":false}`,
		`{"zone":"DE","carbonIntensity":null,"datetime":"2019-05-21T00:00:00.000Z"}`,
		`{"zone":"DE","history":[{"carbonIntensity":1.5,"datetime":"2019-05-21T00:00:00Z"}]}`,
		`{"zone":"DE","forecast":[{"carbonIntensity":1e308,"datetime":"2019-05-21T01:00:00Z"}],"updatedAt":"x"}`,
		`{"zone":"DE","forecast":[{"carbonIntensity":-0,"datetime":"0000-01-01T00:00:00Z"}]}`,
		`{"carbonIntensity":"302"}`, `[]`, `null`, ``, `{`, `<html>`,
	} {
		f.Add([]byte(s))
	}
	at := time.Date(2019, 5, 21, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, s, _, err := decodeEMLatest(b); err == nil {
			if got, err := pick([]sample{s}, at, emMaxAge); err == nil {
				requirePlausible(t, got.Value)
			}
		}
		for _, key := range []string{"history", "forecast"} {
			if _, ss, _, err := decodeEMSeries(b, key); err == nil {
				checkSeries(t, ss, at)
			}
		}
	})
}

func FuzzDecodeUK(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":263,"index":"moderate"}}]}`,
		`{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":null,"index":"moderate"}}]}`,
		`{"data":[{"regionid":3,"dnoregion":"x","shortname":"y","postcode":"RG10","data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":181,"index":"moderate"},"generationmix":[]}]}]}`,
		`{"data":{"regionid":3,"postcode":"RG10","data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":181}}]}}`,
		`{"data":{"regionid":3,"data":{"regionid":4,"data":[]}}}`,
		`{"data":[]}`, `{"data":null}`, `{"data":"x"}`, `{"data":7}`, `{}`, ``, `{"data":[{"from":"a"`,
	} {
		f.Add([]byte(s))
	}
	at := time.Date(2018, 1, 20, 12, 10, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, _, err := decodeUK(b)
		if err != nil {
			return
		}
		ss := make([]sample, len(ps))
		for i, p := range ps {
			if !p.to.After(p.from) {
				t.Fatalf("period %v to %v accepted", p.from, p.to)
			}
			ss[i] = p.best()
		}
		checkSeries(t, ss, at)
	})
}

func FuzzDecodeEDS(f *testing.F) {
	for _, s := range []string{
		`{"total":1,"dataset":"CO2Emis","records":[{"Minutes5UTC":"2022-05-01T21:55:00","Minutes5DK":"2022-05-01T23:55:00","PriceArea":"DK1","CO2Emission":131.0}]}`,
		`{"records":[{"Minutes5UTC":"2022-05-01T21:55:00","PriceArea":"DK1","CO2Emission":null}]}`,
		`{"records":[{"Minutes5UTC":"2022-05-01T21:55:00Z","PriceArea":"dk1","CO2Emission":-1}]}`,
		`{"records":[]}`, `{"records":{}}`, `{"total":0}`, ``, `{"records":[{`,
	} {
		f.Add([]byte(s))
	}
	at := time.Date(2022, 5, 1, 21, 58, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		ss, err := decodeEDS(b, "DK1")
		if err != nil {
			return
		}
		if len(ss) == 0 {
			t.Fatal("no records accepted without error")
		}
		checkSeries(t, ss, at)
	})
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"FR", "fra", "France", "gcp:europe-west4", "aws:us-east-1", "azure:West Europe",
		"world", "DK-DK1", "uk:RG10", "", ":", "gcp:", "europe-west4", "Côte d'Ivoire", "\x00\xff"} {
		f.Add(s)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, zone string) {
		v, err := Lookup(zone)
		if err == nil {
			requirePlausible(t, float64(v.Value))
			if v.Source == "" || v.Zone == "" {
				t.Fatalf("Lookup(%q) = %+v without source or zone", zone, v)
			}
		} else if !errors.Is(err, ErrUnknownZone) {
			t.Fatalf("Lookup(%q): %v", zone, err)
		}
		sv, err := Static(zone).Intensity(t.Context(), t0)
		if err != nil {
			t.Fatalf("Static(%q): %v", zone, err)
		}
		requirePlausible(t, float64(sv.Value))
		if (sv.Fallback == "") != (sv.Cause == nil) {
			t.Fatalf("Static(%q): Fallback %q with Cause %v", zone, sv.Fallback, sv.Cause)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "1", "120", "-5", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", ""} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, h string) {
		d := parseRetryAfter(h, now)
		if d < 0 || d > maxRetryAfterHonoured {
			t.Fatalf("parseRetryAfter(%q) = %v", h, d)
		}
	})
}

func requirePlausible(t *testing.T, v float64) {
	t.Helper()
	if math.IsNaN(v) || v < 0 || v > float64(MaxPlausible) {
		t.Fatalf("implausible value %v accepted", v)
	}
}

// checkSeries runs a decoded series through pick and toPoints: what they
// accept must be plausible and ordered.
func checkSeries(t *testing.T, ss []sample, at time.Time) {
	t.Helper()
	if got, err := pick(ss, at, time.Hour); err == nil {
		requirePlausible(t, got.Value)
	}
	if ps, err := toPoints(ss); err == nil {
		for i, p := range ps {
			requirePlausible(t, float64(p.Value))
			if i > 0 && !p.At.After(ps[i-1].At) {
				t.Fatalf("points out of order: %v", ps)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	assert.Equal(t, 120*time.Second, parseRetryAfter("120", now))
	assert.Equal(t, 28*time.Minute, parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now))
	assert.Zero(t, parseRetryAfter("Wed, 21 Oct 2015 06:28:00 GMT", now), "a date in the past")
	assert.Zero(t, parseRetryAfter("", now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter("-3", now))
	assert.Equal(t, maxRetryAfterHonoured, parseRetryAfter("999999999999", now))
}

func TestSnippetRedactsAndTrims(t *testing.T) {
	f := &fetcher{token: &secret{value: "KEY123"}}
	s := f.snippet([]byte("<html>\n\t<b>bad KEY123\x00 token</b>\n" + strings.Repeat("x", 1000)))
	assert.NotContains(t, s, "KEY123")
	assert.Contains(t, s, "<html> <b>bad [REDACTED] token</b>")
	assert.LessOrEqual(t, len(s), 203)
	assert.Equal(t, "[REDACTED]", f.token.String())
	assert.Equal(t, "[REDACTED]", f.token.GoString())
	assert.Equal(t, "[REDACTED]", f.token.LogValue().String())
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	f := &fetcher{backoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond,
		3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		for range 20 {
			w := f.backoffFor(attempt)
			require.GreaterOrEqual(t, w, want/2, attempt)
			require.LessOrEqual(t, w, want, attempt)
		}
	}
}

func TestRetryWait(t *testing.T) {
	f := &fetcher{backoff: time.Millisecond, maxBackoff: time.Millisecond, maxRetryAfter: 10 * time.Second}
	cases := []struct {
		err   error
		retry bool
	}{
		{&HTTPError{StatusCode: 500}, true},
		{&HTTPError{StatusCode: 502}, true},
		{&HTTPError{StatusCode: 503, RetryAfter: time.Minute}, false}, // asks for longer than we wait
		{&HTTPError{StatusCode: 501}, false},
		{&HTTPError{StatusCode: 400}, false},
		{&HTTPError{StatusCode: 401}, false},
		{&HTTPError{StatusCode: 429}, false},
		{&HTTPError{StatusCode: 429, RetryAfter: 5 * time.Second}, true},
		{&HTTPError{StatusCode: 429, RetryAfter: 11 * time.Second}, false},
		{errorf("p", "%w: x", ErrBadResponse), false},
		{errorf("p", "%w: x", ErrTimeout), true},
		{errors.New("connection reset"), true},
	}
	for _, c := range cases {
		_, retry := f.retryWait(c.err, 1)
		assert.Equal(t, c.retry, retry, "%v", c.err)
	}
	w, _ := f.retryWait(&HTTPError{StatusCode: 503, RetryAfter: 3 * time.Second}, 1)
	assert.Equal(t, 3*time.Second, w, "a Retry-After on a 503 is honoured")
}

func TestLooksHTML(t *testing.T) {
	assert.True(t, looksHTML("text/html; charset=utf-8", []byte(`{}`)))
	assert.True(t, looksHTML("application/json", []byte("\n <!DOCTYPE html>")))
	assert.False(t, looksHTML("application/json", []byte(`{"a":"<b>"}`)))
	assert.False(t, looksHTML("", nil))
}

func TestEmbeddedTablesParse(t *testing.T) {
	tb, err := parseTables()
	require.NoError(t, err)
	assert.Len(t, tb.all, 249)
	// Every country key is unique to one country (no name shadows another).
	names := map[string]string{}
	for _, c := range tb.all {
		for _, n := range []string{c.name, c.owidName} {
			if n == "" {
				continue
			}
			if prev, ok := names[normKey(n)]; ok && prev != c.alpha2 {
				t.Errorf("name %q is both %s and %s", n, prev, c.alpha2)
			}
			names[normKey(n)] = c.alpha2
		}
	}
	// Every AWS region resolves to a value.
	for k, r := range tb.regions {
		if r.cloud == cloudAWS && r.country == nil {
			assert.Equal(t, 2019, r.year, k)
		}
	}
}
