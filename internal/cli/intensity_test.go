package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ukTime is the start of the half hour n half hours from the current one,
// in the API's format: fixtures must be current, or the provider rejects
// them as stale.
func ukTime(n int) string {
	return time.Now().UTC().Truncate(30 * time.Minute).Add(time.Duration(n) * 30 * time.Minute).Format("2006-01-02T15:04Z")
}

// ukServer answers like api.carbonintensity.org.uk: the current regional
// intensity as a list, the regional 24 h forecast with data as an object.
func ukServer(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != http.StatusOK {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/regional/postcode/RG10"):
			_, _ = fmt.Fprintf(w, `{"data":[{"regionid":12,"dnoregion":"SSE South","shortname":"South England","postcode":"RG10",
				"data":[{"from":%q,"to":%q,"intensity":{"forecast":143,"index":"moderate"},
				"generationmix":[{"fuel":"gas","perc":30.1},{"fuel":"wind","perc":40.2}]}]}]}`, ukTime(0), ukTime(1))
		case strings.HasPrefix(r.URL.Path, "/regional/intensity/") && strings.HasSuffix(r.URL.Path, "/fw24h/postcode/RG10"):
			_, _ = fmt.Fprintf(w, `{"data":{"regionid":12,"shortname":"South England","postcode":"RG10","data":[
				{"from":%q,"to":%q,"intensity":{"forecast":150,"index":"moderate"}},
				{"from":%q,"to":%q,"intensity":{"forecast":90,"index":"low"}}]}}`, ukTime(1), ukTime(2), ukTime(2), ukTime(3))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func intensityJSONOut(t *testing.T, args ...string) intensityJSON {
	t.Helper()
	code, out, stderr := runCLI(t, append([]string{"intensity", "--json"}, args...)...)
	require.Equal(t, 0, code, stderr)
	var v intensityJSON
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	for _, k := range []string{"intensity_g_per_kwh", "provider", "zone", "at", "year", "fallback"} {
		assert.Contains(t, raw, k)
	}
	return v
}

func TestIntensityStatic(t *testing.T) {
	t.Setenv("CARBONTRACK_ZONE", "")
	v := intensityJSONOut(t, "--zone", "FRA")
	assert.Equal(t, "FR", v.Zone)
	assert.Equal(t, "static", v.Provider)
	assert.InDelta(t, 56.04, v.IntensityGPerKWh, 0.5)
	require.NotNil(t, v.Year)
	assert.Nil(t, v.Fallback)

	v = intensityJSONOut(t, "--region", "aws:us-east-1")
	assert.InDelta(t, 415.755, v.IntensityGPerKWh, 0.01, "SERC eGRID value per Cloud Carbon Footprint")

	// A zone no table knows used to answer the world average.
	code, _, stderr := runCLI(t, "intensity", "--zone", "Atlantis")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "Atlantis")
}

func TestIntensityUKGridLiveAndForecast(t *testing.T) {
	srv := ukServer(t, http.StatusOK)
	v := intensityJSONOut(t, "--provider", "ukgrid", "--zone", "RG10", "--provider-url", srv.URL, "--forecast")
	assert.Equal(t, 143.0, v.IntensityGPerKWh)
	assert.Nil(t, v.Fallback)
	assert.Nil(t, v.Year, "live values have a timestamp, not a year")
	require.Len(t, v.Forecast, 2)
	assert.Equal(t, 90.0, v.Forecast[1].IntensityGPerKWh)
}

func TestIntensityLiveFailureFallsBack(t *testing.T) {
	srv := ukServer(t, http.StatusBadGateway)
	// The retries take about 1.7 s: a 2 s timeout on a loaded machine cut
	// the last one, whose 502 is what the fallback says.
	v := intensityJSONOut(t, "--provider", "ukgrid", "--zone", "RG10", "--provider-url", srv.URL, "--timeout", "10s")
	assert.Equal(t, "static", v.Provider)
	assert.Equal(t, "GB", v.Zone)
	require.NotNil(t, v.Fallback)
	assert.Contains(t, *v.Fallback, "502")
}

func TestIntensityFlagErrors(t *testing.T) {
	code, _, stderr := runCLI(t, "intensity", "--provider", "nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown provider")
	code, _, stderr = runCLI(t, "intensity", "--zone", "FR", "--forecast")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no forecast")
	code, _, _ = runCLI(t, "intensity", "--zone", "FR", "--region", "gcp:europe-west4")
	assert.Equal(t, 2, code)
	code, _, stderr = runCLI(t, "intensity", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Examples:")
}

func TestIntensityForecastFailureKeepsTheValue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "fw24h") {
			http.Error(w, "upstream down", http.StatusServiceUnavailable)
			return
		}
		from := time.Now().UTC().Truncate(30 * time.Minute)
		_, _ = fmt.Fprintf(w, `{"data":[{"from":%q,"to":%q,"intensity":{"forecast":143,"actual":140,"index":"moderate"}}]}`,
			from.Format("2006-01-02T15:04Z"), from.Add(30*time.Minute).Format("2006-01-02T15:04Z"))
	}))
	defer srv.Close()
	code, out, stderr := runCLI(t, "intensity", "--json", "--provider", "ukgrid", "--zone", "GB", "--provider-url", srv.URL,
		"--forecast", "--timeout", "1s")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "forecast")
	var v intensityJSON
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	assert.Equal(t, 140.0, v.IntensityGPerKWh, "the intensity is printed although the forecast failed")
	require.NotNil(t, v.ForecastError)
}
