package promexport_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport"
)

// prometheusBinary finds a Prometheus server, or skips the test (fails it in
// CI, where .ci/prometheus.sh installs one).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if fi, err := os.Stat("/usr/bin/prometheus"); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return "/usr/bin/prometheus"
	}
	const how = "no prometheus server on PATH or at /usr/bin/prometheus: install one with " +
		"`apt-get install --no-install-recommends prometheus` (or run .ci/prometheus.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(how + "; CI=true, so this integration test must run")
	}
	t.Skip(how + " to run this integration test")
	return ""
}

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeLoopbackPort returns a port free on 127.0.0.1 now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// promServer is a Prometheus server started by a test.
type promServer struct {
	addr   string
	logs   *lockedBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's error, set before exited is closed
}

// startPrometheus starts bin scraping target every second, listening on
// loopback only, with its data in a temporary directory; it is stopped
// (SIGTERM, then SIGKILL after 10 s) when the test ends.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	// Only our target: no alerting, rule files, remote write or service
	// discovery, so that the server reaches nothing but loopback.
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: carbontrack
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken before Prometheus binds it
		p := &promServer{
			addr:   fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)),
			logs:   &lockedBuffer{},
			exited: make(chan struct{}),
		}
		cmd := exec.Command(bin,
			"--config.file="+cfgPath,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data%d", attempt)),
			"--storage.tsdb.retention.time=1h",
			"--web.listen-address="+p.addr,
			"--log.level=warn",
		)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = p.logs, p.logs
		cmd.WaitDelay = 10 * time.Second
		require.NoError(t, cmd.Start())
		go func() {
			p.err = cmd.Wait()
			close(p.exited)
		}()
		stop := func() {
			select {
			case <-p.exited:
				return
			default:
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				t.Logf("prometheus ignored SIGTERM for 10 s; killing it")
				_ = cmd.Process.Kill()
				<-p.exited
			}
		}
		// Give it a moment to fail on a taken port.
		select {
		case <-p.exited:
			lastErr = fmt.Errorf("prometheus exited at once: %v\n%s", p.err, p.logs.String())
			continue
		case <-time.After(300 * time.Millisecond):
		}
		t.Cleanup(func() {
			stop()
			assert.NotNil(t, cmd.ProcessState, "prometheus exited")
			if t.Failed() {
				t.Logf("prometheus output:\n%s", p.logs.String())
			}
		})
		return p
	}
	t.Fatal(lastErr)
	return nil
}

// TestPrometheusServer scrapes the exporter with a real Prometheus server and
// checks that the energy it stores is the tracker's, and that the PromQL of
// docs/multinode.md answers.
func TestPrometheusServer(t *testing.T) {
	bin := prometheusBinary(t)
	began := time.Now()
	if out, err := exec.Command(bin, "--version").CombinedOutput(); err == nil {
		t.Logf("using %s: %s", bin, strings.SplitN(string(out), "\n", 2)[0])
	}

	// The exporter: a tracker on two scripted sources (350 W together).
	start := time.Now()
	const gpuW, cpuW = 300, 50
	tr, err := tracker.New(10, tracker.WithSources([]power.Source{
		powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, gpuW, start),
		powertest.Constant("cpu:package-0", power.KindCPU, power.MethodSampled, cpuW, start),
	}), tracker.WithFixedIntensity(400), tracker.WithPUE(1.2), tracker.WithConsole(nil),
		tracker.WithInterval(100*time.Millisecond))
	require.NoError(t, err)
	defer tr.Stop()
	tr.EpochStart()
	c, err := promexport.NewCollector(tr, promexport.WithRunID("it-run"), promexport.WithNode("it-node"))
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	srv, err := promexport.Serve(t.Context(), "127.0.0.1:0", reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Stop()) }()

	prom := startPrometheus(t, bin, srv.Addr())
	transport := &http.Transport{Proxy: nil} // loopback only, whatever HTTP_PROXY says
	defer transport.CloseIdleConnections()
	client, err := api.NewClient(api.Config{Address: "http://" + prom.addr, Client: &http.Client{Transport: transport}})
	require.NoError(t, err)
	papi := v1.NewAPI(client)

	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	query := func(q string) model.Vector {
		t.Helper()
		v, warn, _, err := papi.Query(ctx, q, time.Time{})
		require.NoError(t, err, q)
		assert.Empty(t, warn, q)
		vec, ok := v.(model.Vector)
		require.True(t, ok, "%s: %v is not a vector", q, v)
		return vec
	}

	// Wait until the target is up and scraped twice (so that rate() has
	// two points).
	for {
		select {
		case <-prom.exited:
			t.Fatalf("prometheus exited: %v\n%s", prom.err, prom.logs.String())
		case <-ctx.Done():
			res, _ := papi.Targets(context.Background())
			t.Fatalf("target never up and scraped twice; targets: %+v", res.Active)
		case <-time.After(250 * time.Millisecond):
		}
		v, _, _, err := papi.Query(ctx, `count_over_time(up{job="carbontrack"}[1m]) >= 2 and up{job="carbontrack"} == 1`, time.Time{})
		if err != nil {
			continue // not ready to answer yet
		}
		if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
			break
		}
	}
	t.Logf("target up and scraped twice after %v", time.Since(began).Round(time.Millisecond))

	// The energy stored is the tracker's, within one scrape interval's
	// worth (plus a sampling interval) of energy.
	before := tr.Status()
	vec := query(`carbontrack_energy_joules_total{run_id="it-run",node="it-node"}`)
	after := tr.Status()
	require.Len(t, vec, 2)
	const slack = 1.5 // seconds: a scrape interval, a sampling interval, scheduling
	for _, smp := range vec {
		dev := string(smp.Metric["device"])
		var watts float64
		var bef, aft power.Joules
		for i, s := range before.Sources {
			if s.Info.Name == dev {
				watts = float64(s.Power)
				bef, aft = s.DeviceEnergy, after.Sources[i].DeviceEnergy
			}
		}
		require.NotZero(t, watts, "device %q", dev)
		got := float64(smp.Value)
		assert.LessOrEqual(t, got, float64(aft)+1e-9, dev)
		assert.GreaterOrEqual(t, got, float64(bef)-watts*slack, dev)
		assert.Positive(t, got, dev)
		assert.Equal(t, "carbontrack", string(smp.Metric["job"]))
		t.Logf("%s: prometheus %.1f J, tracker %.1f..%.1f J", dev, got, float64(bef), float64(aft))
	}

	// The recipe's run total in kWh, summed by run_id.
	vec = query(`sum by (run_id) (carbontrack_energy_joules_total{run_id="it-run"}) / 3.6e6`)
	require.Len(t, vec, 1)
	assert.Equal(t, "it-run", string(vec[0].Metric["run_id"]))
	assert.InDelta(t, after.DeviceEnergy.KWh(), float64(vec[0].Value), (gpuW+cpuW)*slack/3.6e6)

	// Facility energy: joined with each exporter's PUE.
	vec = query(`sum by (run_id) (carbontrack_energy_joules_total{run_id="it-run"} * on (instance) group_left carbontrack_pue) / 3.6e6`)
	require.Len(t, vec, 1)
	assert.InDelta(t, after.DeviceEnergy.KWh()*1.2, float64(vec[0].Value), (gpuW+cpuW)*slack*1.2/3.6e6)

	// The total after the run: the last value of each counter.
	vec = query(`sum by (run_id) (last_over_time(carbontrack_energy_joules_total{run_id="it-run"}[30d])) / 3.6e6`)
	require.Len(t, vec, 1)
	assert.InDelta(t, after.DeviceEnergy.KWh(), float64(vec[0].Value), (gpuW+cpuW)*slack/3.6e6)

	// increase() over a window: positive, never more than the counters.
	vec = query(`sum(increase(carbontrack_energy_joules_total{run_id="it-run"}[1h])) / 3.6e6`)
	require.Len(t, vec, 1)
	assert.Positive(t, float64(vec[0].Value))
	assert.LessOrEqual(t, float64(vec[0].Value), after.DeviceEnergy.KWh()+1e-12)

	// Emissions: energy × PUE × intensity.
	vec = query(`sum(carbontrack_emissions_grams_total{run_id="it-run"})`)
	require.Len(t, vec, 1)
	assert.InDelta(t, after.Grams, float64(vec[0].Value), power.Joules((gpuW+cpuW)*slack).KWh()*1.2*400)

	// Power now, and from the counter: the rate of joules is watts. (rate()
	// divides by its whole window, which the test does not wait to fill;
	// irate() takes the last two scrapes, 1 s apart, whose energies are
	// quantised by the 100 ms sampling.)
	// The power of the latest read interval: the scripted sources' energy
	// follows the clock at the read, the interval the sample's time taken
	// just before; on a loaded machine the two differ by a few ms.
	vec = query(`sum(carbontrack_power_watts{run_id="it-run"})`)
	require.Len(t, vec, 1)
	assert.InEpsilon(t, gpuW+cpuW, float64(vec[0].Value), 0.02)
	vec = query(`sum(irate(carbontrack_energy_joules_total{run_id="it-run"}[1m]))`)
	require.Len(t, vec, 1)
	assert.InEpsilon(t, gpuW+cpuW, float64(vec[0].Value), 0.25)

	vec = query(`carbontrack_source_up{run_id="it-run"}`)
	assert.Len(t, vec, 2)
	for _, smp := range vec {
		assert.Equal(t, 1.0, float64(smp.Value))
	}
	vec = query(`carbontrack_grid_intensity_grams_per_kwh{run_id="it-run",provider="fixed"}`)
	require.Len(t, vec, 1)
	assert.Equal(t, 400.0, float64(vec[0].Value))

	// After the exporter stops, the counters go stale (an instant query
	// answers nothing) and last_over_time still has the run's total.
	tr.EpochEnd()
	require.NoError(t, srv.Stop())
	atStop := float64(tr.Status().DeviceEnergy)
	for {
		vec, _, _, err := papi.Query(ctx, `up{job="carbontrack"} == 0`, time.Time{})
		require.NoError(t, err)
		if v, ok := vec.(model.Vector); ok && len(v) == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the stopped exporter never seen down")
		case <-time.After(250 * time.Millisecond):
		}
	}
	assert.Empty(t, query(`carbontrack_energy_joules_total{run_id="it-run"}`), "stale after the exporter stopped")
	vec = query(`sum(last_over_time(carbontrack_energy_joules_total{run_id="it-run"}[30d]))`)
	require.Len(t, vec, 1)
	assert.LessOrEqual(t, float64(vec[0].Value), atStop+1e-9)
	assert.GreaterOrEqual(t, float64(vec[0].Value), atStop-(gpuW+cpuW)*slack)
	t.Logf("integration test took %v", time.Since(began).Round(time.Millisecond))
}
