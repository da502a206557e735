package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power/powertest"
)

// syncBuffer is a bytes.Buffer that a running subcommand writes while the
// test reads it.
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

// eventually polls cond every 20 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}

func TestServeCommand(t *testing.T) {
	sysfs := fakeMachine(t)
	t.Setenv("CARBONTRACK_NODE", "node-7") // the env twin of --node
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--metrics-addr", "127.0.0.1:0", "--interval", "20ms",
			"--run-id", "r-1", "--sysfs-root", sysfs}, &stdout, &stderr)
	}()

	urlRE := regexp.MustCompile(`metrics at (http://127\.0\.0\.1:\d+/metrics)`)
	var url string
	eventually(t, "the metrics URL on stderr", func() bool {
		select {
		case c := <-code:
			t.Fatalf("serve returned %d early: %s", c, stderr.String())
		default:
		}
		m := urlRE.FindStringSubmatch(stderr.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	assert.Contains(t, stderr.String(), "cpu:package-0 (counter)")
	assert.Contains(t, stderr.String(), "not measured: nvml")

	body := scrape(t, url)
	labels := `{component="cpu",device="cpu:package-0",method="counter",node="node-7",run_id="r-1"}`
	assert.Contains(t, body, "carbontrack_energy_joules_total"+labels+" 0")
	assert.Contains(t, body, `carbontrack_source_up{node="node-7",run_id="r-1",source="dram:package-0"} 1`)
	assert.Contains(t, body, "# TYPE carbontrack_energy_joules_total counter")
	assert.NotContains(t, body, "carbontrack_epoch", "a node exporter has no epochs")

	// The package draws 5 J: the next scrapes show it.
	powertest.SetEnergy(t, sysfs, "intel-rapl:0", 1000+5_000_000)
	eventually(t, "5 J in the energy counter", func() bool {
		return strings.Contains(scrape(t, url), "carbontrack_energy_joules_total"+labels+" 5\n")
	})

	cancel()
	select {
	case c := <-code:
		assert.Equal(t, 0, c, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after its context was cancelled")
	}
	assert.Contains(t, stderr.String(), "carbontrack serve: stopped")
	assert.Empty(t, stdout.String())
	_, err := http.Get(url)
	assert.Error(t, err, "the port is closed")
}

func TestServeCommandRefusesPublic(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--metrics-addr", "0.0.0.0:9464"},
		{"serve", "--metrics-addr", ":9464"},
		{"serve", "--metrics-addr", "192.168.1.10:9464"},
	} {
		code, _, stderr := runCLI(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Contains(t, stderr, "refusing to serve metrics", args)
		assert.Contains(t, stderr, "--allow-public", args)
		assert.Contains(t, stderr, "expose", args)
	}
	t.Setenv("CARBONTRACK_METRICS_ADDR", ":9464")
	code, _, stderr := runCLI(t, "serve")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `":9464" (all interfaces)`)
}

func TestServeCommandUsage(t *testing.T) {
	code, _, stderr := runCLI(t, "serve", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Examples:")
	assert.Contains(t, stderr, "carbontrack serve --metrics-addr 127.0.0.1:9464 --run-id")
	assert.Contains(t, stderr, "CARBONTRACK_METRICS_ADDR")

	code, _, stderr = runCLI(t, "serve", "--interval", "0s")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--interval must be positive")
	code, _, stderr = runCLI(t, "serve", "extra")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unexpected argument "extra"`)
	code, _, stderr = runCLI(t, "serve", "--metrics-addr", "9464")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "missing port")

	code, out, _ := runCLI(t, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "serve")
}
