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

const (
	ukNational = `{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":263,"index":"moderate"}}]}`
	ukNoActual = `{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":null,"index":"moderate"}}]}`
	ukBothNull = `{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":null,"actual":null,"index":"moderate"}}]}`
	// /regional/postcode/{pc}: "data" is a list of regions.
	ukRegionalList = `{"data":[{"regionid":3,"dnoregion":"Electricity North West","shortname":"North West England","postcode":"RG10",
		"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":181,"index":"moderate"},
		"generationmix":[{"fuel":"gas","perc":43.6},{"fuel":"wind","perc":20.2}]}]}]}`
	// /regional/intensity/{from}/{to}/postcode/{pc} and fw24h: "data" is an object.
	ukRegionalObject = `{"data":{"regionid":12,"dnoregion":"SSE South","shortname":"South England","postcode":"RG10",
		"data":[{"from":"2018-01-20T10:00Z","to":"2018-01-20T10:30Z","intensity":{"forecast":150,"index":"moderate"},"generationmix":[]},
		{"from":"2018-01-20T10:30Z","to":"2018-01-20T11:00Z","intensity":{"forecast":140,"index":"moderate"},"generationmix":[]},
		{"from":"2018-01-20T11:00Z","to":"2018-01-20T11:30Z","intensity":{"forecast":130,"index":"low"},"generationmix":[]}]}}`
	ukNationalRange = `{"data":[
		{"from":"2018-01-20T10:00Z","to":"2018-01-20T10:30Z","intensity":{"forecast":250,"actual":240,"index":"moderate"}},
		{"from":"2018-01-20T10:30Z","to":"2018-01-20T11:00Z","intensity":{"forecast":245,"actual":null,"index":"moderate"}},
		{"from":"2018-01-20T11:00Z","to":"2018-01-20T11:30Z","intensity":{"forecast":230,"actual":231,"index":"moderate"}}]}`
)

var ukNow = time.Date(2018, 1, 20, 12, 10, 0, 0, time.UTC)

func newUK(t *testing.T, s *testServer, postcode string) *factor.UKCarbonIntensity {
	t.Helper()
	uk, err := factor.NewUKCarbonIntensity(postcode, s.opts(newClock(ukNow))...)
	require.NoError(t, err)
	return uk
}

func TestUKNational(t *testing.T) {
	s := newServer(t, jsonHandler(200, ukNational))
	v, err := newUK(t, s, "").Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "/intensity", s.lastRequest().URL.Path)
	assert.Equal(t, factor.GramsPerKWh(263), v.Value, "actual when there is one")
	assert.False(t, v.Estimated)
	assert.Equal(t, mustTime(t, "2018-01-20T12:00:00Z"), v.At)
	assert.Equal(t, "GB", v.Zone)
	assert.Equal(t, "carbonintensity.org.uk", v.Provider)
	assert.Contains(t, v.Source, "Carbon Intensity API")

	s = newServer(t, jsonHandler(200, ukNoActual))
	v, err = newUK(t, s, "").Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(266), v.Value, "the forecast when actual is null")
	assert.True(t, v.Estimated)

	s = newServer(t, jsonHandler(200, ukBothNull))
	_, err = newUK(t, s, "").Intensity(context.Background(), time.Time{})
	require.ErrorIs(t, err, factor.ErrNoData)
	assert.Contains(t, err.Error(), "null")
}

func TestUKNationalPastTime(t *testing.T) {
	s := newServer(t, jsonHandler(200, ukNationalRange))
	v, err := newUK(t, s, "").Intensity(context.Background(), mustTime(t, "2018-01-20T10:40:00Z"))
	require.NoError(t, err)
	assert.Equal(t, "/intensity/2018-01-20T10:10Z/2018-01-20T11:10Z", s.lastRequest().URL.Path)
	assert.Equal(t, factor.GramsPerKWh(245), v.Value)
	assert.True(t, v.Estimated)
	assert.Equal(t, mustTime(t, "2018-01-20T10:30:00Z"), v.At)
}

func TestUKRegional(t *testing.T) {
	// Current: "data" is a list holding the region.
	s := newServer(t, jsonHandler(200, ukRegionalList))
	uk := newUK(t, s, "rg10 9ab")
	assert.Equal(t, "GB:RG10", uk.Zone())
	v, err := uk.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "/regional/postcode/RG10", s.lastRequest().URL.Path)
	assert.Equal(t, factor.GramsPerKWh(181), v.Value)
	assert.True(t, v.Estimated)
	assert.Equal(t, "GB:RG10", v.Zone)
	assert.Contains(t, v.Source, "North West England")

	// A past time: "data" is an object.
	s = newServer(t, jsonHandler(200, ukRegionalObject))
	v, err = newUK(t, s, "RG10").Intensity(context.Background(), mustTime(t, "2018-01-20T11:05:00Z"))
	require.NoError(t, err)
	assert.Equal(t, "/regional/intensity/2018-01-20T10:35Z/2018-01-20T11:35Z/postcode/RG10", s.lastRequest().URL.Path)
	assert.Equal(t, factor.GramsPerKWh(130), v.Value)
	assert.Contains(t, v.Source, "South England")
}

func TestUKForecast(t *testing.T) {
	s := newServer(t, jsonHandler(200, ukNationalRange))
	ps, err := newUK(t, s, "").Forecast(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "/intensity/2018-01-20T12:10Z/fw24h", s.lastRequest().URL.Path)
	assert.Equal(t, []factor.Point{
		{At: mustTime(t, "2018-01-20T10:00:00Z"), Value: 250},
		{At: mustTime(t, "2018-01-20T10:30:00Z"), Value: 245},
		{At: mustTime(t, "2018-01-20T11:00:00Z"), Value: 230},
	}, ps, "forecast values, not actual ones")

	s = newServer(t, jsonHandler(200, ukRegionalObject))
	ps, err = newUK(t, s, "RG10").Forecast(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "/regional/intensity/2018-01-20T12:10Z/fw24h/postcode/RG10", s.lastRequest().URL.Path)
	require.Len(t, ps, 3)
	assert.Equal(t, factor.GramsPerKWh(140), ps[1].Value)
}

func TestUKBadBodies(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		is   error
	}{
		"data string":   {`{"data":"nope"}`, factor.ErrBadResponse},
		"data null":     {`{"data":null}`, factor.ErrBadResponse},
		"no data":       {`{"error":{"code":"400 Bad Request","message":"Please enter a valid postcode"}}`, factor.ErrBadResponse},
		"empty list":    {`{"data":[]}`, factor.ErrNoData},
		"no intensity":  {`{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z"}]}`, factor.ErrBadResponse},
		"bad time":      {`{"data":[{"from":"noon","to":"2018-01-20T12:30Z","intensity":{"forecast":1}}]}`, factor.ErrBadResponse},
		"backwards":     {`{"data":[{"from":"2018-01-20T12:30Z","to":"2018-01-20T12:00Z","intensity":{"forecast":1}}]}`, factor.ErrBadResponse},
		"absurd":        {`{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":5000,"actual":4000}}]}`, factor.ErrImplausible},
		"negative":      {`{"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":-1,"actual":null}}]}`, factor.ErrImplausible},
		"truncated":     {ukNational[:50], factor.ErrBadResponse},
		"region no per": {`{"data":{"regionid":1,"data":"x"}}`, factor.ErrBadResponse},
		"stale":         {`{"data":[{"from":"2018-01-19T12:00Z","to":"2018-01-19T12:30Z","intensity":{"forecast":100,"actual":100}}]}`, factor.ErrNoData},
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, jsonHandler(200, c.body))
			_, err := newUK(t, s, "").Intensity(context.Background(), time.Time{})
			require.ErrorIs(t, err, c.is)
			assert.Contains(t, err.Error(), "factor: carbonintensity.org.uk: ")
		})
	}
	// The API's own 400.
	s := newServer(t, jsonHandler(400, `{"error":{"code":"400 Bad Request","message":"Please enter a valid postcode"}}`))
	_, err := newUK(t, s, "ZZ9").Intensity(context.Background(), time.Time{})
	var he *factor.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusBadRequest, he.StatusCode)
	assert.Contains(t, he.Body, "valid postcode")
}

func TestNewUKValidatesPostcode(t *testing.T) {
	for _, pc := range []string{"RG10", "rg10", "SW1A", "M1", "EH1 1AA", "W1A 0AX", " b33 8th "} {
		_, err := factor.NewUKCarbonIntensity(pc)
		require.NoError(t, err, pc)
	}
	for _, pc := range []string{"10RG", "R", "RGX10", "RG100", "RG-10", "../x", "RG1/"} {
		_, err := factor.NewUKCarbonIntensity(pc)
		require.ErrorIs(t, err, factor.ErrInvalid, pc)
	}
}

func TestUKEarlierInTheLastHalfHourUsesRange(t *testing.T) {
	// now is 12:10; 11:50 is in the previous half hour, which the current
	// endpoint does not cover.
	s := newServer(t, jsonHandler(200, `{"data":[
		{"from":"2018-01-20T11:30Z","to":"2018-01-20T12:00Z","intensity":{"forecast":200,"actual":199,"index":"moderate"}},
		{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":null,"index":"moderate"}}]}`))
	v, err := newUK(t, s, "").Intensity(context.Background(), mustTime(t, "2018-01-20T11:50:00Z"))
	require.NoError(t, err)
	assert.Equal(t, "/intensity/2018-01-20T11:20Z/2018-01-20T12:20Z", s.lastRequest().URL.Path)
	assert.Equal(t, factor.GramsPerKWh(199), v.Value)

	v, err = newUK(t, s, "").Intensity(context.Background(), mustTime(t, "2018-01-20T12:01:00Z"))
	require.NoError(t, err)
	assert.Equal(t, "/intensity", s.lastRequest().URL.Path)
	assert.Equal(t, factor.GramsPerKWh(266), v.Value)
}
