package factor_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

const edsCO2Emis = `{"total":4,"filters":"{\"PriceArea\":[\"DK1\"]}","sort":"Minutes5UTC DESC","dataset":"CO2Emis","records":[
	{"Minutes5UTC":"2022-05-01T22:00:00","Minutes5DK":"2022-05-02T00:00:00","PriceArea":"DK1","CO2Emission":140.5},
	{"Minutes5UTC":"2022-05-01T21:55:00","Minutes5DK":"2022-05-01T23:55:00","PriceArea":"DK1","CO2Emission":131.0},
	{"Minutes5UTC":"2022-05-01T21:55:00","Minutes5DK":"2022-05-01T23:55:00","PriceArea":"DK2","CO2Emission":77.0},
	{"Minutes5UTC":"2022-05-01T21:50:00","Minutes5DK":"2022-05-01T23:50:00","PriceArea":"DK1","CO2Emission":129.0}]}`

var edsNow = time.Date(2022, 5, 1, 21, 58, 0, 0, time.UTC)

func newEDS(t *testing.T, s *testServer, area string, clock *fakeClock) *factor.EnergiDataService {
	t.Helper()
	eds, err := factor.NewEnergiDataService(area, s.opts(clock)...)
	require.NoError(t, err)
	return eds
}

func TestEnergiDataServiceIntensity(t *testing.T) {
	s := newServer(t, jsonHandler(200, edsCO2Emis))
	eds := newEDS(t, s, "dk-dk1", newClock(edsNow))
	assert.Equal(t, "DK-DK1", eds.Zone())
	v, err := eds.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.Intensity{
		Value:    131,
		At:       mustTime(t, "2022-05-01T21:55:00Z"),
		Zone:     "DK-DK1",
		Provider: "energidataservice",
		Source:   "Energi Data Service, Energinet (CO2Emis)",
	}, v, "the interval holding now, not the later one, nor DK2's")

	r := s.lastRequest()
	assert.Equal(t, "/dataset/CO2Emis", r.URL.Path)
	q := r.URL.Query()
	assert.Equal(t, `{"PriceArea":["DK1"]}`, q.Get("filter"))
	assert.Equal(t, "Minutes5UTC DESC", q.Get("sort"))
	assert.Equal(t, "2022-05-01T18:58", q.Get("start"))
	assert.Equal(t, "2022-05-02T00:58", q.Get("end"))
	assert.NotEmpty(t, q.Get("limit"))

	v, err = eds.Intensity(context.Background(), mustTime(t, "2022-05-01T21:52:30Z"))
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(129), v.Value)
}

func TestEnergiDataServiceBadValues(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		is   error
	}{
		"null":       {`{"records":[{"Minutes5UTC":"2022-05-01T21:55:00","PriceArea":"DK1","CO2Emission":null}]}`, factor.ErrNoData},
		"absurd":     {`{"records":[{"Minutes5UTC":"2022-05-01T21:55:00","PriceArea":"DK1","CO2Emission":2500.5}]}`, factor.ErrImplausible},
		"negative":   {`{"records":[{"Minutes5UTC":"2022-05-01T21:55:00","PriceArea":"DK1","CO2Emission":-0.5}]}`, factor.ErrImplausible},
		"empty":      {`{"total":0,"records":[]}`, factor.ErrNoData},
		"other area": {`{"records":[{"Minutes5UTC":"2022-05-01T21:55:00","PriceArea":"DK2","CO2Emission":50}]}`, factor.ErrNoData},
		"no records": {`{"total":0}`, factor.ErrBadResponse},
		"records {}": {`{"records":{}}`, factor.ErrBadResponse},
		"bad time":   {`{"records":[{"Minutes5UTC":"01/05/2022","PriceArea":"DK1","CO2Emission":50}]}`, factor.ErrBadResponse},
		"truncated":  {edsCO2Emis[:120], factor.ErrBadResponse},
		"stale":      {`{"records":[{"Minutes5UTC":"2022-05-01T19:55:00","PriceArea":"DK1","CO2Emission":50}]}`, factor.ErrNoData},
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, jsonHandler(200, c.body))
			_, err := newEDS(t, s, "DK1", newClock(edsNow)).Intensity(context.Background(), time.Time{})
			require.ErrorIs(t, err, c.is)
			assert.Contains(t, err.Error(), "factor: energidataservice: ")
		})
	}
}

func TestEnergiDataServiceForecast(t *testing.T) {
	body := `{"total":5,"dataset":"CO2EmisProg","records":[
		{"Minutes5UTC":"2022-05-01T21:50:00","Minutes5DK":"x","PriceArea":"DK2","CO2Emission":90},
		{"Minutes5UTC":"2022-05-01T21:50:00","Minutes5DK":"x","PriceArea":"DK2","CO2Emission":90},
		{"Minutes5UTC":"2022-05-01T21:55:00","Minutes5DK":"x","PriceArea":"DK2","CO2Emission":91},
		{"Minutes5UTC":"2022-05-01T22:00:00","Minutes5DK":"x","PriceArea":"DK2","CO2Emission":92.5},
		{"Minutes5UTC":"2022-05-01T22:05:00","Minutes5DK":"x","PriceArea":"DK2","CO2Emission":80}]}`
	s := newServer(t, jsonHandler(200, body))
	ps, err := newEDS(t, s, "DK2", newClock(edsNow)).Forecast(context.Background())
	require.NoError(t, err, "the duplicate before now is dropped with the past")
	assert.Equal(t, "/dataset/CO2EmisProg", s.lastRequest().URL.Path)
	assert.Equal(t, "Minutes5UTC ASC", s.lastRequest().URL.Query().Get("sort"))
	assert.Equal(t, []factor.Point{
		{At: mustTime(t, "2022-05-01T21:55:00Z"), Value: 91},
		{At: mustTime(t, "2022-05-01T22:00:00Z"), Value: 92.5},
		{At: mustTime(t, "2022-05-01T22:05:00Z"), Value: 80},
	}, ps)
}

func TestEnergiDataServiceRateLimit(t *testing.T) {
	clock := newClock(edsNow)
	s := newServer(t, sequence(jsonHandler(429, `{"error":"Too many requests"}`), jsonHandler(200, edsCO2Emis)))
	eds := newEDS(t, s, "DK1", clock)
	_, err := eds.Intensity(context.Background(), time.Time{})
	require.ErrorIs(t, err, factor.ErrRateLimited)
	var he *factor.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusTooManyRequests, he.StatusCode)
	assert.Zero(t, he.RetryAfter)

	// The service bans for 5 minutes: nothing is sent before they are over.
	for _, d := range []time.Duration{time.Second, time.Minute, 3 * time.Minute} {
		clock.Advance(d)
		_, err = eds.Intensity(context.Background(), time.Time{})
		require.ErrorIs(t, err, factor.ErrRateLimited)
	}
	_, err = eds.Forecast(context.Background())
	require.ErrorIs(t, err, factor.ErrRateLimited)
	assert.Equal(t, int64(1), s.hits.Load())

	clock.Advance(time.Minute)
	v, err := eds.Intensity(context.Background(), edsNow)
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(131), v.Value)
	assert.Equal(t, int64(2), s.hits.Load())
}

func TestNewEnergiDataServiceValidates(t *testing.T) {
	for _, a := range []string{"DK1", "dk2", "DK-DK1", " dk-dk2 "} {
		_, err := factor.NewEnergiDataService(a)
		require.NoError(t, err, a)
	}
	for _, a := range []string{"", "DK", "DK3", "SE3", "DK-DK3"} {
		_, err := factor.NewEnergiDataService(a)
		require.ErrorIs(t, err, factor.ErrInvalid, a)
	}
}
