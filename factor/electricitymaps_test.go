package factor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

const (
	emToken  = "em-test-token-0123456789"
	emLatest = `{"zone":"DE","carbonIntensity":302,"datetime":"2019-05-21T00:00:00.000Z",` +
		`"updatedAt":"2019-05-21T00:06:15.000Z","emissionFactorType":"lifecycle","isEstimated":false}`
	emHistory = `{"zone":"DE","history":[
		{"zone":"DE","carbonIntensity":310.5,"datetime":"2019-05-20T18:00:00.000Z","updatedAt":"x","emissionFactorType":"lifecycle","isEstimated":false},
		{"zone":"DE","carbonIntensity":290,"datetime":"2019-05-20T19:00:00.000Z","updatedAt":"x","emissionFactorType":"lifecycle","isEstimated":false},
		{"zone":"DE","carbonIntensity":280,"datetime":"2019-05-20T20:00:00.000Z","updatedAt":"x","emissionFactorType":"lifecycle","isEstimated":true}]}`
	emForecast = `{"zone":"DE","forecast":[
		{"carbonIntensity":320,"datetime":"2019-05-21T01:00:00.000Z"},
		{"carbonIntensity":300.25,"datetime":"2019-05-21T00:00:00.000Z"},
		{"carbonIntensity":250,"datetime":"2019-05-21T02:00:00.000Z"}],"updatedAt":"2019-05-21T00:05:00.000Z"}`
)

var emNow = time.Date(2019, 5, 21, 0, 20, 0, 0, time.UTC)

func newEM(t *testing.T, s *testServer, extra ...factor.Option) *factor.ElectricityMaps {
	t.Helper()
	em, err := factor.NewElectricityMaps("de", s.opts(newClock(emNow), append([]factor.Option{factor.WithToken(emToken)}, extra...)...)...)
	require.NoError(t, err)
	return em
}

func TestElectricityMapsLatest(t *testing.T) {
	s := newServer(t, jsonHandler(200, emLatest))
	em := newEM(t, s)
	v, err := em.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.Intensity{
		Value:    302,
		At:       time.Date(2019, 5, 21, 0, 0, 0, 0, time.UTC),
		Zone:     "DE",
		Provider: "electricitymaps",
		Source:   "Electricity Maps (lifecycle)",
	}, v)
	r := s.lastRequest()
	assert.Equal(t, "/v3/carbon-intensity/latest", r.URL.Path)
	assert.Equal(t, "DE", r.URL.Query().Get("zone"))
	assert.Equal(t, emToken, r.Header.Get("auth-token"))
	assert.Equal(t, "DE", em.Zone())
}

func TestElectricityMapsValues(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		want  factor.GramsPerKWh
		err   error
		msg   string
		estim bool
	}{
		{name: "float", body: `{"zone":"DE","carbonIntensity":302.75,"datetime":"2019-05-21T00:00:00.000Z","isEstimated":true}`, want: 302.75, estim: true},
		{name: "no millis", body: `{"zone":"DE","carbonIntensity":1,"datetime":"2019-05-21T00:00:00Z"}`, want: 1},
		{name: "null", body: `{"zone":"DE","carbonIntensity":null,"datetime":"2019-05-21T00:00:00.000Z"}`, err: factor.ErrNoData, msg: "null"},
		{name: "absent", body: `{"zone":"DE","datetime":"2019-05-21T00:00:00.000Z"}`, err: factor.ErrNoData, msg: "null"},
		{name: "negative", body: `{"zone":"DE","carbonIntensity":-3,"datetime":"2019-05-21T00:00:00.000Z"}`, err: factor.ErrImplausible},
		{name: "absurd", body: `{"zone":"DE","carbonIntensity":302000,"datetime":"2019-05-21T00:00:00.000Z"}`, err: factor.ErrImplausible, msg: "302000"},
		{name: "stale", body: `{"zone":"DE","carbonIntensity":302,"datetime":"2019-05-20T12:00:00.000Z"}`, err: factor.ErrNoData, msg: "older"},
		{name: "string", body: `{"zone":"DE","carbonIntensity":"302","datetime":"2019-05-21T00:00:00.000Z"}`, err: factor.ErrBadResponse},
		{name: "bad time", body: `{"zone":"DE","carbonIntensity":302,"datetime":"yesterday"}`, err: factor.ErrBadResponse, msg: "yesterday"},
		{name: "no time", body: `{"zone":"DE","carbonIntensity":302}`, err: factor.ErrBadResponse, msg: "no datetime"},
		{name: "truncated", body: emLatest[:40], err: factor.ErrBadResponse, msg: "unexpected end"},
		{name: "not json", body: `ok`, err: factor.ErrBadResponse},
		{name: "empty", body: ``, err: factor.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, jsonHandler(200, tt.body))
			v, err := newEM(t, s).Intensity(context.Background(), emNow)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Contains(t, err.Error(), tt.msg)
				assert.True(t, strings.HasPrefix(err.Error(), "factor: electricitymaps: "), err.Error())
				assert.Equal(t, int64(1), s.hits.Load(), "a bad body is not retried")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v.Value)
			assert.Equal(t, tt.estim, v.Estimated)
		})
	}
}

func TestElectricityMapsHistoryForPastTime(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v3/carbon-intensity/latest":
			jsonHandler(200, emLatest)(w, r)
		case "/v3/carbon-intensity/history":
			jsonHandler(200, emHistory)(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	em := newEM(t, s)
	v, err := em.Intensity(context.Background(), mustTime(t, "2019-05-20T19:30:00Z"))
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(290), v.Value)
	assert.Equal(t, mustTime(t, "2019-05-20T19:00:00Z"), v.At)
	assert.Equal(t, "/v3/carbon-intensity/history", s.lastRequest().URL.Path)

	// Older than the history: a clear error, not the nearest value.
	_, err = em.Intensity(context.Background(), mustTime(t, "2019-05-19T00:00:00Z"))
	require.ErrorIs(t, err, factor.ErrNoData)

	hs, err := em.History(context.Background())
	require.NoError(t, err)
	require.Len(t, hs, 3)
	assert.Equal(t, factor.GramsPerKWh(310.5), hs[0].Value)
}

func TestElectricityMapsForecast(t *testing.T) {
	s := newServer(t, jsonHandler(200, emForecast))
	ps, err := newEM(t, s).Forecast(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "/v3/carbon-intensity/forecast", s.lastRequest().URL.Path)
	require.Len(t, ps, 3)
	assert.Equal(t, []factor.Point{
		{At: mustTime(t, "2019-05-21T00:00:00Z"), Value: 300.25},
		{At: mustTime(t, "2019-05-21T01:00:00Z"), Value: 320},
		{At: mustTime(t, "2019-05-21T02:00:00Z"), Value: 250},
	}, ps, "sorted oldest first")

	for name, body := range map[string]string{
		"null":      `{"zone":"DE","forecast":[{"carbonIntensity":null,"datetime":"2019-05-21T01:00:00.000Z"}]}`,
		"absurd":    `{"zone":"DE","forecast":[{"carbonIntensity":9999,"datetime":"2019-05-21T01:00:00.000Z"}]}`,
		"empty":     `{"zone":"DE","forecast":[]}`,
		"missing":   `{"zone":"DE","history":[]}`,
		"object":    `{"zone":"DE","forecast":{}}`,
		"duplicate": `{"zone":"DE","forecast":[{"carbonIntensity":1,"datetime":"2019-05-21T01:00:00Z"},{"carbonIntensity":2,"datetime":"2019-05-21T01:00:00Z"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, jsonHandler(200, body))
			_, err := newEM(t, s).Forecast(context.Background())
			require.Error(t, err)
			assert.True(t, errors.Is(err, factor.ErrNoData) || errors.Is(err, factor.ErrImplausible) ||
				errors.Is(err, factor.ErrBadResponse), err.Error())
		})
	}
}

func TestElectricityMapsCoordinates(t *testing.T) {
	s := newServer(t, jsonHandler(200, emLatest))
	em, err := factor.NewElectricityMaps("", s.opts(newClock(emNow), factor.WithToken(emToken), factor.WithCoordinates(55.68, 12.57))...)
	require.NoError(t, err)
	_, err = em.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	q := s.lastRequest().URL.Query()
	assert.Equal(t, "55.68", q.Get("lat"))
	assert.Equal(t, "12.57", q.Get("lon"))
	assert.Empty(t, q.Get("zone"))
}

func TestNewElectricityMapsValidates(t *testing.T) {
	t.Setenv(factor.ElectricityMapsTokenEnv, "")
	_, err := factor.NewElectricityMaps("DE")
	require.ErrorIs(t, err, factor.ErrNoToken)
	assert.Contains(t, err.Error(), factor.ElectricityMapsTokenEnv)

	tok := factor.WithToken("t")
	for name, c := range map[string]struct {
		zone string
		opts []factor.Option
	}{
		"no zone":        {"", []factor.Option{tok}},
		"both":           {"DE", []factor.Option{tok, factor.WithCoordinates(1, 2)}},
		"bad coords":     {"", []factor.Option{tok, factor.WithCoordinates(91, 0)}},
		"bad zone":       {"DE/../x", []factor.Option{tok}},
		"bad url":        {"DE", []factor.Option{tok, factor.WithBaseURL("ftp://x")}},
		"no host":        {"DE", []factor.Option{tok, factor.WithBaseURL("http://")}},
		"zero timeout":   {"DE", []factor.Option{tok, factor.WithTimeout(0)}},
		"no attempts":    {"DE", []factor.Option{tok, factor.WithRetries(0)}},
		"bad backoff":    {"DE", []factor.Option{tok, factor.WithBackoff(time.Second, time.Millisecond)}},
		"nil client":     {"DE", []factor.Option{tok, factor.WithHTTPClient(nil)}},
		"nil logger":     {"DE", []factor.Option{tok, factor.WithLogger(nil)}},
		"nil clock":      {"DE", []factor.Option{tok, factor.WithClock(nil)}},
		"header-unsafe":  {"DE", []factor.Option{factor.WithToken("a\r\nX-Evil: 1")}},
		"neg retryafter": {"DE", []factor.Option{tok, factor.WithMaxRetryAfter(-1)}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := factor.NewElectricityMaps(c.zone, c.opts...)
			require.ErrorIs(t, err, factor.ErrInvalid)
			assert.NotContains(t, err.Error(), "X-Evil")
		})
	}

	// The environment variable is the default source of the token.
	s := newServer(t, jsonHandler(200, emLatest))
	t.Setenv(factor.ElectricityMapsTokenEnv, "from-env")
	em, err := factor.NewElectricityMaps("DE", s.opts(newClock(emNow))...)
	require.NoError(t, err)
	_, err = em.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "from-env", s.lastRequest().Header.Get("auth-token"))
}

func TestHTTPFailures(t *testing.T) {
	html := "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  int   // expected HTTPError status, 0 if none
		is      error // expected sentinel, nil if none
		hits    int64
		msg     string
	}{
		{name: "401", handler: jsonHandler(401, `{"error":"invalid token"}`), status: 401, hits: 1, msg: "invalid token"},
		{name: "404", handler: jsonHandler(404, `{"error":"zone not found"}`), status: 404, hits: 1},
		{name: "500 retried", handler: jsonHandler(500, `{"error":"boom"}`), status: 500, hits: 3, msg: "after 3 attempts"},
		{name: "503 html", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			_, _ = w.Write([]byte(html))
		}, status: 503, hits: 3, msg: "Bad Gateway"},
		{name: "200 html", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(html))
		}, is: factor.ErrBadResponse, hits: 1, msg: "HTML page"},
		{name: "200 html as json", handler: jsonHandler(200, "\n  "+html), is: factor.ErrBadResponse, hits: 1, msg: "HTML page"},
		{name: "truncated transfer", handler: truncatedHandler(emLatest[:30]), is: nil, hits: 3, msg: "unexpected EOF"},
		{name: "slow", handler: slowHandler(5*time.Second, emLatest), is: factor.ErrTimeout, hits: 3, msg: "no complete response within 300ms"},
		{name: "429 no retry-after", handler: jsonHandler(429, `{"error":"slow down"}`), status: 429, is: factor.ErrRateLimited, hits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.handler)
			start := time.Now()
			_, err := newEM(t, s).Intensity(context.Background(), time.Time{})
			require.Error(t, err)
			assert.Less(t, time.Since(start), 3*time.Second)
			if tt.status != 0 {
				var he *factor.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, tt.status, he.StatusCode)
				assert.Equal(t, "electricitymaps", he.Provider)
			}
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			assert.Equal(t, tt.hits, s.hits.Load())
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "factor: electricitymaps: "), err.Error())
			if tt.is == factor.ErrTimeout {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	s := newServer(t, sequence(jsonHandler(503, "busy"), slowHandler(5*time.Second, emLatest), jsonHandler(200, emLatest)))
	v, err := newEM(t, s).Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(302), v.Value)
	assert.Equal(t, int64(3), s.hits.Load())
}

func TestRetriesHonourContext(t *testing.T) {
	s := newServer(t, jsonHandler(500, "boom"))
	em := newEM(t, s, factor.WithBackoff(10*time.Second, 10*time.Second), factor.WithRetries(5))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := em.Intensity(ctx, time.Time{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 2*time.Second, "the backoff wait ends with the context")
	assert.Contains(t, err.Error(), "500")
	assert.Equal(t, int64(1), s.hits.Load())

	// A context done before the call sends nothing useful and fails at once.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = em.Intensity(ctx, time.Time{})
	require.ErrorIs(t, err, context.Canceled)

	// A context deadline shorter than the request timeout is the caller's,
	// not ErrTimeout.
	s2 := newServer(t, slowHandler(5*time.Second, emLatest))
	ctx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_, err = newEM(t, s2, factor.WithTimeout(time.Second)).Intensity(ctx, time.Time{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, factor.ErrTimeout)
	assert.Equal(t, int64(1), s2.hits.Load())
}

func TestRateLimitRetryAfter(t *testing.T) {
	// A short Retry-After is waited out within the call.
	s := newServer(t, sequence(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		jsonHandler(429, `{"error":"rate limited"}`)(w, r)
	}, jsonHandler(200, emLatest)))
	start := time.Now()
	v, err := newEM(t, s).Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(302), v.Value)
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	assert.Equal(t, int64(2), s.hits.Load())

	// A long one ends the call, and nothing is sent until it has passed.
	clock := newClock(emNow)
	s = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		jsonHandler(429, `{"error":"rate limited"}`)(w, r)
	})
	em, err := factor.NewElectricityMaps("DE", s.opts(clock, factor.WithToken(emToken))...)
	require.NoError(t, err)
	_, err = em.Intensity(context.Background(), time.Time{})
	var he *factor.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 120*time.Second, he.RetryAfter)
	require.ErrorIs(t, err, factor.ErrRateLimited)
	assert.Equal(t, int64(1), s.hits.Load())

	clock.Advance(119 * time.Second)
	_, err = em.Intensity(context.Background(), time.Time{})
	require.ErrorIs(t, err, factor.ErrRateLimited)
	assert.Contains(t, err.Error(), "not sending")
	assert.Equal(t, int64(1), s.hits.Load(), "no request while the server asked to wait")

	clock.Advance(2 * time.Second)
	_, _ = em.Intensity(context.Background(), time.Time{})
	assert.Equal(t, int64(2), s.hits.Load())

	// A Retry-After as an HTTP date.
	s = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", emNow.Add(90*time.Second).Format(http.TimeFormat))
		jsonHandler(429, `{}`)(w, r)
	})
	_, err = newEM(t, s).Intensity(context.Background(), time.Time{})
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 90*time.Second, he.RetryAfter)
}

func TestRateLimitWithoutRetryAfterPauses(t *testing.T) {
	clock := newClock(emNow)
	s := newServer(t, jsonHandler(429, `{"error":"rate limited"}`))
	em, err := factor.NewElectricityMaps("DE", s.opts(clock, factor.WithToken(emToken))...)
	require.NoError(t, err)
	for range 5 {
		_, err = em.Intensity(context.Background(), time.Time{})
		require.ErrorIs(t, err, factor.ErrRateLimited)
	}
	assert.Equal(t, int64(1), s.hits.Load(), "a 429 is never hammered")
	clock.Advance(61 * time.Second)
	_, err = em.Intensity(context.Background(), time.Time{})
	require.ErrorIs(t, err, factor.ErrRateLimited)
	assert.Equal(t, int64(2), s.hits.Load())
}

func TestKeyNeverLogged(t *testing.T) {
	const key = "sk-live-SECRET-do-not-leak-42"
	logger, logs := captureLogs()
	echo := func(status int, ct string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(status)
			// A server that echoes the request's token in its error page.
			_, _ = fmt.Fprintf(w, "<html>bad token %q for %s</html>", r.Header.Get("auth-token"), r.URL)
		}
	}
	handlers := map[string]http.HandlerFunc{
		"401 json":   echo(401, "application/json"),
		"500 html":   echo(500, "text/html"),
		"200 html":   echo(200, "text/html"),
		"429":        echo(429, "application/json"),
		"slow":       slowHandler(5*time.Second, emLatest),
		"truncated":  truncatedHandler(`{"zone":"` + key),
		"bad json":   jsonHandler(200, `{"zone":"`+key+`",`),
		"null value": jsonHandler(200, `{"zone":"DE","carbonIntensity":null,"datetime":"2019-05-21T00:00:00.000Z"}`),
	}
	var errs []string
	for name, h := range handlers {
		s := newServer(t, h)
		em, err := factor.NewElectricityMaps("DE", s.opts(newClock(emNow), factor.WithToken(key), factor.WithLogger(logger),
			factor.WithTimeout(100*time.Millisecond))...)
		require.NoError(t, err)
		_, err = em.Intensity(context.Background(), time.Time{})
		require.Error(t, err, name)
		errs = append(errs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		_, err = em.Forecast(context.Background())
		if err != nil {
			errs = append(errs, err.Error())
		}
		errs = append(errs, fmt.Sprintf("%v %+v %#v", em, em, *em))

		// A chain logs its fallbacks: the key must not appear there either.
		chain, err := factor.NewChain([]factor.Provider{em, factor.Static("DE")}, factor.WithLogger(logger))
		require.NoError(t, err)
		v, err := chain.Intensity(context.Background(), time.Time{})
		require.NoError(t, err)
		errs = append(errs, v.Fallback, v.Cause.Error(), v.String())
	}
	require.NotEmpty(t, logs.String())
	assert.NotContains(t, logs.String(), key)
	for _, e := range errs {
		assert.NotContains(t, e, key)
	}
	assert.Contains(t, strings.Join(errs, "\n"), "[REDACTED]", "the echoed key was redacted, not just absent")
}

func TestTokenNotSentAcrossRedirects(t *testing.T) {
	other := newServer(t, jsonHandler(200, emLatest))
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			jsonHandler(200, emLatest)(w, r)
			return
		}
		target := other.URL + "/v3/carbon-intensity/latest"
		if r.URL.Query().Get("zone") == "FR" {
			target = "/moved" // same host: allowed
		}
		http.Redirect(w, r, target, http.StatusFound)
	})
	em := newEM(t, s)
	_, err := em.Intensity(context.Background(), time.Time{})
	require.ErrorIs(t, err, factor.ErrBadResponse)
	assert.Contains(t, err.Error(), "refusing a redirect")
	assert.Zero(t, other.hits.Load(), "the other host never saw the request")

	fr, err := factor.NewElectricityMaps("FR", s.opts(newClock(emNow), factor.WithToken(emToken))...)
	require.NoError(t, err)
	_, err = fr.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, emToken, s.lastRequest().Header.Get("auth-token"))
}
