package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

// A misspelled zone used to become the world average in intensity and run;
// every subcommand now refuses it before any work, with close matches.
func TestUnknownZoneExits2Everywhere(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	marker := filepath.Join(t.TempDir(), "started")
	for _, args := range [][]string{
		{"intensity", "--zone", "Germny"},
		{"estimate", "--watts", "300", "--hours", "1", "--zone", "Germny"},
		{"run", "--sysfs-root", sysfs, "--log-dir", "", "--zone", "Germny", "--", "sh", "-c", "touch " + marker},
		{"run", "--sysfs-root", sysfs, "--log-dir", "", "--zone", "Germny", "--process", "--", "sh", "-c", "touch " + marker},
	} {
		code, out, stderr := runCLI(t, args...)
		assert.Equal(t, 2, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, "did you mean DE (Germany)?", args)
		assert.Empty(t, out, args)
	}
	assert.NoFileExists(t, marker, "the command never started")

	t.Setenv(factor.ZoneEnv, "Frnace")
	code, _, stderr := runCLI(t, "intensity")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "CARBONTRACK_ZONE")
	assert.Contains(t, stderr, "FR (France)")
}

// Without a zone, the machine's time zone names the country, and the
// output says so.
func TestIntensityLocatesTheMachine(t *testing.T) {
	t.Setenv(factor.ZoneEnv, "")
	t.Setenv("TZ", "Europe/Berlin")
	code, out, stderr := runCLI(t, "intensity")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "zone:     DE (from the time zone Europe/Berlin)")
	assert.Empty(t, stderr)

	v := intensityJSONOut(t)
	assert.Equal(t, "DE", v.Zone)
	assert.Equal(t, "the time zone Europe/Berlin", v.ZoneFrom)

	// Nothing names a zone: the world average, with a warning that says how
	// to set one.
	t.Setenv("TZ", "UTC")
	code, out, stderr = runCLI(t, "intensity")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "483.2 g CO2e/kWh  zone world")
	assert.Contains(t, stderr, "warning: no zone given or found")
	assert.Contains(t, stderr, "--zone")

	// A cloud metadata service names the region.
	t.Setenv(factor.CloudMetadataEnv, "on")
	gcp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/computeMetadata/v1/instance/zone" || r.Header.Get("Metadata-Flavor") != "Google" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte("projects/1/zones/europe-north1-b"))
	}))
	defer gcp.Close()
	t.Setenv(factor.MetadataURLEnv, gcp.URL)
	v = intensityJSONOut(t)
	assert.Equal(t, "gcp:europe-north1", v.Zone)
	assert.Equal(t, "the GCP metadata service", v.ZoneFrom)
}

// --timeout is the whole command's: every attempt and the forecast. A slow
// provider used to take 32 s (66 s with --forecast) under a 10 s timeout.
func TestIntensityTimeoutIsTotal(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	code, out, stderr := runCLI(t, "intensity", "--json", "--provider", "ukgrid", "--zone", "GB",
		"--provider-url", srv.URL, "--timeout", "500ms", "--forecast")
	elapsed := time.Since(start)
	// Retries and the forecast under a per-request limit would take 4.5 s
	// or more; the bound is generous against a slow machine.
	assert.Less(t, elapsed, 2*time.Second)
	assert.Equal(t, 1, code, "the forecast did not come: %s", stderr)
	var v intensityJSON
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	gb, err := factor.Lookup("GB")
	require.NoError(t, err)
	assert.Equal(t, float64(gb.Value), v.IntensityGPerKWh, "GB's table value")
	require.NotNil(t, v.Fallback)
}

// A password in --provider-url never reaches stderr, the report or a log.
func TestProviderURLPasswordRedacted(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	answered := filepath.Join(t.TempDir(), "answered")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 400: not retried, so the failure is final at once.
		http.Error(w, "bad", http.StatusBadRequest)
		w.(http.Flusher).Flush()
		_ = os.WriteFile(answered, nil, 0o644)
	}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)
	logs := t.TempDir()
	report := filepath.Join(t.TempDir(), "report.json")
	// The command lasts until the provider has answered, and a little more.
	wait := "while [ ! -e " + answered + " ]; do sleep 0.05; done; sleep 0.5"
	code, out, stderr := runCLI(t, "run", "--sysfs-root", sysfs, "--log-dir", logs, "--report-file", report,
		"--provider", "ukgrid", "--zone", "GB", "--provider-url", url, "--", "sh", "-c", wait)
	require.Equal(t, 0, code, stderr)
	all := out + stderr
	files, err := filepath.Glob(filepath.Join(logs, "*"))
	require.NoError(t, err)
	for _, f := range append(files, report) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		all += string(b)
	}
	assert.Contains(t, all, "400 Bad Request", "the failure is reported")
	assert.Contains(t, all, "user:xxxxx@", "with the URL, redacted")
	assert.NotContains(t, all, "s3cret")

	code, out, stderr = runCLI(t, "intensity", "--provider", "ukgrid", "--zone", "GB", "--provider-url", url, "--timeout", "2s")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "user:xxxxx@")
	assert.NotContains(t, out+stderr, "s3cret")
}

// On a cloud instance in UTC, run used to warn of the world average before
// the metadata service named the region that was then counted.
func TestRunOnCloudWarnsNothing(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv(factor.ZoneEnv, "")
	t.Setenv("TZ", "UTC")
	t.Setenv(factor.CloudMetadataEnv, "on")
	gcp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/computeMetadata/v1/instance/zone" || r.Header.Get("Metadata-Flavor") != "Google" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte("projects/1/zones/europe-west4-a"))
	}))
	defer gcp.Close()
	t.Setenv(factor.MetadataURLEnv, gcp.URL)
	t.Setenv(factor.MetadataBudgetEnv, "10s") // a loaded test machine is slow to answer
	report := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := runCLI(t, "run", "--sysfs-root", sysfs, "--log-dir", "", "--report-file", report, "--", "sh", "-c", "sleep 0.5")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "warning: no zone")
	assert.Contains(t, stderr, "zone:       gcp:europe-west4 (from the GCP metadata service)")
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	var rep runJSON
	require.NoError(t, json.Unmarshal(b, &rep))
	v, err := factor.Lookup("gcp:europe-west4")
	require.NoError(t, err)
	assert.InDelta(t, float64(v.Value), rep.IntensityGPerKW, 1e-9)
}
