package tracker_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
)

// located returns options for a tracker on one 300 W GPU that locates its
// zone itself (no fixed intensity).
func located(extra ...tracker.Option) []tracker.Option {
	return append([]tracker.Option{tracker.WithSources([]power.Source{gpu("gpu:0", 300)}),
		tracker.WithVerbose(0), tracker.WithPUE(1)}, extra...)
}

func table(t *testing.T, zone string) factor.GramsPerKWh {
	t.Helper()
	v, err := factor.Lookup(zone)
	require.NoError(t, err)
	return v.Value
}

// oneEpoch runs one short epoch that draws energy, stops and reports.
func oneEpoch(t *testing.T, tr *tracker.Tracker) tracker.Report {
	t.Helper()
	runEpochs(tr, 1, 20*time.Millisecond)
	tr.Stop()
	r := tr.Report()
	require.Positive(t, r.Run.FacilityEnergy)
	return r
}

// A misspelled zone used to become the world average, with a nil error.
func TestUnknownZoneFailsNew(t *testing.T) {
	_, err := tracker.New(1, located(tracker.WithZone("Germny"))...)
	require.Error(t, err)
	assert.True(t, errors.Is(err, tracker.ErrUnknownZone))
	assert.Contains(t, err.Error(), "did you mean DE (Germany)?")

	t.Setenv(factor.ZoneEnv, "Frnace")
	_, err = tracker.New(1, located()...)
	require.ErrorIs(t, err, factor.ErrUnknownZone)
	assert.Contains(t, err.Error(), factor.ZoneEnv)
	assert.Contains(t, err.Error(), "FR (France)")

	_, err = tracker.New(1, located(tracker.WithZone("DE"), tracker.WithProvider("ukgrd"))...)
	require.ErrorIs(t, err, factor.ErrInvalid)
	assert.Contains(t, err.Error(), "ukgrid")
}

// With no zone given, the time zone names the country.
func TestZoneFromTimeZone(t *testing.T) {
	t.Setenv("TZ", "Europe/Berlin")
	dir := t.TempDir()
	tr, err := tracker.New(1, located(tracker.WithLogDir(dir))...)
	require.NoError(t, err)
	assert.Equal(t, factor.Location{Zone: "DE", Method: factor.LocatedTimeZone, From: "the time zone Europe/Berlin"},
		tr.Location())
	r := oneEpoch(t, tr)
	assert.InDelta(t, float64(table(t, "DE")), float64(r.MeanIntensity), 1e-9)
	assert.Equal(t, "DE (from the time zone Europe/Berlin)", r.Location.String())
	assert.Empty(t, r.Intensity.Fallback)

	// Every log says how the zone was found.
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		all.Write(b)
	}
	assert.Contains(t, all.String(), "zone DE (from the time zone Europe/Berlin)")
	assert.Contains(t, all.String(), `"intensity_zone_from":"the time zone Europe/Berlin"`)
}

func TestZoneFromEnvironment(t *testing.T) {
	t.Setenv("TZ", "Europe/Berlin")
	t.Setenv(factor.ZoneEnv, "FR")
	tr, err := tracker.New(1, located()...)
	require.NoError(t, err)
	r := oneEpoch(t, tr)
	assert.Equal(t, "FR (from CARBONTRACK_ZONE)", r.Location.String())
	assert.InDelta(t, float64(table(t, "FR")), float64(r.MeanIntensity), 1e-9)
}

// Nothing names a zone: the world average, with a warning that says how to
// set one.
func TestNoZoneFoundWarns(t *testing.T) {
	t.Setenv("TZ", "UTC")
	tr, err := tracker.New(1, located()...)
	require.NoError(t, err)
	r := oneEpoch(t, tr)
	assert.InDelta(t, float64(factor.WorldAverage), float64(r.MeanIntensity), 1e-9)
	assert.Equal(t, factor.LocatedDefault, r.Location.Method)
	assert.Contains(t, r.Location.Warning, "--zone")
	assert.Contains(t, r.Location.Warning, "world average")
}

// slowServer never answers until the test ends; it counts the requests it
// got and the ones still held.
type slowServer struct {
	*httptest.Server
	release chan struct{}
	held    chan struct{}
}

func newSlowServer(t *testing.T) *slowServer {
	s := &slowServer{release: make(chan struct{}), held: make(chan struct{}, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.held <- struct{}{}
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(s.release); s.Close() })
	return s
}

// A slow live provider used to delay the start by 20 s and then count the
// world average: the tracker starts on the zone's table value at once and
// keeps it when the provider does not answer.
func TestSlowLiveProviderNeitherDelaysNorFallsToWorld(t *testing.T) {
	s := newSlowServer(t)
	tr, err := tracker.New(1, located(tracker.WithZone("GB"), tracker.WithProvider("ukgrid"),
		tracker.WithFactorOptions(factor.WithBaseURL(s.URL), factor.WithTimeout(time.Hour)))...)
	require.NoError(t, err, "New returns while the provider is still asked")
	assert.Equal(t, table(t, "GB"), tr.Intensity().Value)
	<-s.held // the provider was asked, and has not answered
	r := oneEpoch(t, tr)
	assert.InDelta(t, float64(table(t, "GB")), float64(r.MeanIntensity), 1e-9, "GB's table value, not the world average")
	assert.Equal(t, "GB (from WithZone)", r.Location.String())
}

// A live provider that fails falls back to the zone's table value.
func TestFailingLiveProviderUsesTableValue(t *testing.T) {
	for _, code := range []int{http.StatusInternalServerError, http.StatusTooManyRequests} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(code)
		}))
		tr, err := tracker.New(1, located(tracker.WithZone("GB"), tracker.WithProvider("ukgrid"),
			tracker.WithFactorOptions(factor.WithBaseURL(srv.URL), factor.WithRetries(1)))...)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return tr.Intensity().Fallback != "" }, 10*time.Second, time.Millisecond)
		r := oneEpoch(t, tr)
		srv.Close()
		assert.InDelta(t, float64(table(t, "GB")), float64(r.MeanIntensity), 1e-9, "status %d", code)
		assert.Contains(t, r.Intensity.Fallback, http.StatusText(code))
	}
}

// The live value, when it comes before any energy is counted, applies to
// the whole run.
func TestLiveValueAppliesFromTheStart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from := time.Now().UTC().Truncate(30 * time.Minute)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"data":[{"from":%q,"to":%q,"intensity":{"forecast":266,"actual":263,"index":"moderate"}}]}`,
			from.Format("2006-01-02T15:04Z"), from.Add(30*time.Minute).Format("2006-01-02T15:04Z"))
	}))
	defer srv.Close()
	tr, err := tracker.New(1, located(tracker.WithZone("GB"), tracker.WithProvider("ukgrid"),
		tracker.WithFactorOptions(factor.WithBaseURL(srv.URL)))...)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return tr.Intensity().Value == 263 }, 10*time.Second, time.Millisecond)
	r := oneEpoch(t, tr)
	assert.InDelta(t, float64(factor.GramsPerKWh(263)), float64(r.MeanIntensity), 1e-9)
	assert.Equal(t, 1, r.Intensities)
}

// A cloud metadata service names the region, which replaces the time
// zone's country.
func TestZoneFromCloudMetadata(t *testing.T) {
	t.Setenv("TZ", "Europe/Berlin")
	t.Setenv(factor.CloudMetadataEnv, "on")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/computeMetadata/v1/instance/zone" || r.Header.Get("Metadata-Flavor") != "Google" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte("projects/123456789/zones/europe-west4-a"))
	}))
	defer srv.Close()
	tr, err := tracker.New(1, located(tracker.WithFactorOptions(factor.WithMetadataURL(srv.URL)))...)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return tr.Location().Method == factor.LocatedCloud }, 10*time.Second, time.Millisecond)
	r := oneEpoch(t, tr)
	assert.Equal(t, "gcp:europe-west4", r.Location.Zone)
	assert.Contains(t, r.Location.From, "GCP")
	assert.InDelta(t, float64(table(t, "gcp:europe-west4")), float64(r.MeanIntensity), 1e-9)
}

// A metadata service that never answers leaves the time zone's country.
func TestSlowCloudMetadataKeepsTimeZone(t *testing.T) {
	t.Setenv("TZ", "Europe/Paris")
	t.Setenv(factor.CloudMetadataEnv, "on")
	s := newSlowServer(t)
	tr, err := tracker.New(1, located(tracker.WithFactorOptions(factor.WithMetadataURL(s.URL),
		factor.WithMetadataBudget(50*time.Millisecond)))...)
	require.NoError(t, err)
	<-s.held
	time.Sleep(100 * time.Millisecond) // past the budget
	r := oneEpoch(t, tr)
	assert.Equal(t, "FR (from the time zone Europe/Paris)", r.Location.String())
	assert.InDelta(t, float64(table(t, "FR")), float64(r.MeanIntensity), 1e-9)
}

// "live" with no zone found counts the table value, with a note, rather
// than refusing to start.
func TestLiveProviderWithoutZone(t *testing.T) {
	t.Setenv("TZ", "UTC")
	tr, err := tracker.New(1, located(tracker.WithProvider("live"))...)
	require.NoError(t, err)
	r := oneEpoch(t, tr)
	assert.InDelta(t, float64(factor.WorldAverage), float64(r.MeanIntensity), 1e-9)
	assert.Contains(t, r.Intensity.Fallback, "no live source")
}

// A provider of the caller's names the zone: no location, no warning.
func TestCustomProviderNamesTheZone(t *testing.T) {
	t.Setenv("TZ", "UTC")
	tr, err := tracker.New(1, located(tracker.WithFactor(factor.Static("FR")))...)
	require.NoError(t, err)
	<-tr.Located()
	r := oneEpoch(t, tr)
	assert.Equal(t, "FR", r.Location.Zone)
	assert.Empty(t, r.Location.Warning)
	assert.InDelta(t, float64(table(t, "FR")), float64(r.MeanIntensity), 1e-9)
}

// A live provider whose table value already carries a note still says
// that it failed.
func TestLiveFailureNotedBesideTableNote(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	p, err := factor.NewEnergiDataService("DK1", factor.WithBaseURL(srv.URL), factor.WithRetries(1))
	require.NoError(t, err)
	tr, err := tracker.New(1, located(tracker.WithZone("DK1"), tracker.WithFactor(p))...)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return tr.Report().IntensityErrors > 0 }, 10*time.Second, time.Millisecond)
	r := oneEpoch(t, tr)
	assert.Contains(t, r.Intensity.Fallback, "not in the embedded tables")
	assert.Contains(t, r.Intensity.Fallback, "provider failed")
	assert.InDelta(t, float64(table(t, "DK")), float64(r.MeanIntensity), 1e-9)
}

// The advice asks the forecast of the provider in use, also when it was
// named (WithProvider) rather than given.
func TestAdviceFromNamedProvider(t *testing.T) {
	half := func(n int) string {
		return time.Now().UTC().Truncate(30 * time.Minute).Add(time.Duration(n) * 30 * time.Minute).Format("2006-01-02T15:04Z")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/fw24h") {
			var pts []string
			for i := range 48 {
				v := 100
				if i < 4 {
					v = 400
				}
				pts = append(pts, fmt.Sprintf(`{"from":%q,"to":%q,"intensity":{"forecast":%d,"index":"low"}}`, half(i), half(i+1), v))
			}
			_, _ = fmt.Fprintf(w, `{"data":[%s]}`, strings.Join(pts, ","))
			return
		}
		_, _ = fmt.Fprintf(w, `{"data":[{"from":%q,"to":%q,"intensity":{"forecast":400,"actual":400,"index":"high"}}]}`, half(0), half(1))
	}))
	defer srv.Close()
	var console syncBuffer
	tr, err := tracker.New(3, tracker.WithSources([]power.Source{gpu("gpu:0", 300)}), tracker.WithPUE(1),
		tracker.WithConsole(&console), tracker.WithZone("GB"), tracker.WithProvider("ukgrid"),
		tracker.WithFactorOptions(factor.WithBaseURL(srv.URL)))
	require.NoError(t, err)
	runEpochs(tr, 1, 50*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(console.String(), "Carbon-aware advice") },
		10*time.Second, 5*time.Millisecond, console.String())
	tr.Stop()
}

// syncBuffer is a bytes.Buffer safe for the writer's goroutine and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A region named after some energy was counted at the time zone's value
// applies to the whole run: the location does not change during it.
func TestLateCloudRegionRestatesTheRun(t *testing.T) {
	t.Setenv("TZ", "Europe/Paris")
	t.Setenv(factor.CloudMetadataEnv, "on")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/computeMetadata/v1/instance/zone" {
			http.NotFound(w, r)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte("projects/1/zones/europe-west4-a"))
	}))
	defer srv.Close()
	tr, err := tracker.New(2, located(tracker.WithFactorOptions(factor.WithMetadataURL(srv.URL),
		factor.WithMetadataBudget(time.Minute)))...)
	require.NoError(t, err)
	runEpochs(tr, 1, 20*time.Millisecond) // counted at FR's value
	require.Eventually(t, func() bool { return tr.Report().Completed == 1 }, 10*time.Second, time.Millisecond)
	require.Positive(t, tr.Report().Run.Grams)
	close(release)
	<-tr.Located()
	r := oneEpoch(t, tr)
	assert.Equal(t, "gcp:europe-west4", r.Location.Zone)
	assert.InDelta(t, float64(table(t, "gcp:europe-west4")), float64(r.MeanIntensity), 1e-9)
	assert.InDelta(t, float64(table(t, "gcp:europe-west4")), float64(r.EpochRecords[0].Intensity), 1e-9)
}
