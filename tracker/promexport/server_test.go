package promexport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport"
	"github.com/carbontrack/carbontrack/tracker/promexport/promaddr"
)

// TestCheckAddrForwards checks that the policy promexport exports is
// promaddr's.
func TestCheckAddrForwards(t *testing.T) {
	assert.Equal(t, promaddr.DefaultAddr, promexport.DefaultAddr)
	assert.Equal(t, promaddr.DefaultPort, promexport.DefaultPort)
	assert.Same(t, promaddr.ErrNotLoopback, promexport.ErrNotLoopback)
	for _, addr := range []string{"127.0.0.1:9464", "0.0.0.0:9464", "10.0.0.5:9464", "127.0.0.1", "::1:9464"} {
		for _, public := range []bool{false, true} {
			assert.Equal(t, fmt.Sprint(promaddr.Check(addr, public)), fmt.Sprint(promexport.CheckAddr(addr, public)), addr)
		}
	}
	require.ErrorIs(t, promexport.CheckAddr("0.0.0.0:9464", false), promexport.ErrNotLoopback)
}

func TestServe(t *testing.T) {
	start := time.Now()
	tr, err := tracker.New(2, tracker.WithSources([]power.Source{
		powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 250, start)}),
		tracker.WithFixedIntensity(100), tracker.WithConsole(nil), tracker.WithInterval(10*time.Millisecond))
	require.NoError(t, err)
	defer tr.Stop()
	c, err := promexport.NewCollector(tr, promexport.WithRunID("r1"))
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))

	srv, err := promexport.Serve(t.Context(), "127.0.0.1:0", reg)
	require.NoError(t, err)
	defer srv.Stop()
	assert.True(t, strings.HasPrefix(srv.Addr(), "127.0.0.1:"))
	assert.NotEqual(t, "127.0.0.1:0", srv.Addr())
	assert.Equal(t, "http://"+srv.Addr()+"/metrics", srv.URL())

	body, ctype := get(t, srv.URL(), http.StatusOK)
	assert.Contains(t, ctype, "text/plain")
	assert.Contains(t, body, `carbontrack_energy_joules_total{component="gpu",device="gpu:0",method="counter",run_id="r1"}`)
	assert.Contains(t, body, `carbontrack_source_up{run_id="r1",source="gpu:0"} 1`)
	body, _ = get(t, "http://"+srv.Addr()+"/", http.StatusOK)
	assert.Contains(t, body, "/metrics")
	get(t, "http://"+srv.Addr()+"/nothing", http.StatusNotFound)

	require.NoError(t, srv.Stop())
	require.NoError(t, srv.Stop(), "Stop is idempotent")
	select {
	case <-srv.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	_, err = http.Get(srv.URL())
	require.Error(t, err, "no longer listening")
}

func TestServeRefusesPublic(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		srv, err := promexport.Serve(t.Context(), addr, reg)
		require.ErrorIs(t, err, promexport.ErrNotLoopback, addr)
		assert.Nil(t, srv)
	}
	_, err := promexport.Serve(t.Context(), "127.0.0.1:0", nil)
	require.Error(t, err)
	_, err = promexport.Serve(t.Context(), "127.0.0.1:0", reg, promexport.WithShutdownTimeout(0))
	require.Error(t, err)
	// An address in use is an error, not a silent other port.
	srv, err := promexport.Serve(t.Context(), "127.0.0.1:0", reg)
	require.NoError(t, err)
	defer srv.Stop()
	_, err = promexport.Serve(t.Context(), srv.Addr(), reg)
	require.ErrorContains(t, err, "promexport: listen")
}

func TestServeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	srv, err := promexport.Serve(ctx, "localhost:0", prometheus.NewRegistry())
	require.NoError(t, err)
	get(t, srv.URL(), http.StatusOK)
	cancel()
	select {
	case <-srv.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("server still serving after its context was cancelled")
	}
	require.NoError(t, srv.Stop())
}

// getHost is a GET of url with the Host header host; it returns the status.
func getHost(t *testing.T, url, host string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// A loopback-only server answers only requests that name it by a loopback
// address or localhost: a browser led to 127.0.0.1 by a rebound DNS name
// sends that name as Host.
func TestServeRefusesForeignHost(t *testing.T) {
	srv, err := promexport.Serve(t.Context(), "127.0.0.1:0", prometheus.NewRegistry())
	require.NoError(t, err)
	defer srv.Stop()
	_, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	for _, tc := range []struct {
		host string
		want int
	}{
		{"attacker.example", http.StatusForbidden},
		{"attacker.example:" + port, http.StatusForbidden},
		{"localhost.attacker.example:" + port, http.StatusForbidden},
		{"192.168.1.20:" + port, http.StatusForbidden},
		{"0.0.0.0:" + port, http.StatusForbidden},
		{"127.0.0.1:" + port, http.StatusOK},
		{"127.0.0.1", http.StatusOK},
		{"127.9.9.9:" + port, http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		{"LOCALHOST", http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
		{"[::1]", http.StatusOK},
		{"[::ffff:127.0.0.1]:" + port, http.StatusOK},
	} {
		assert.Equal(t, tc.want, getHost(t, srv.URL(), tc.host), "Host: %s", tc.host)
	}
	assert.Equal(t, http.StatusForbidden, getHost(t, "http://"+srv.Addr()+"/", "attacker.example"), "every path")

	// With WithAllowPublic(true) the server is meant to be reached by any
	// name.
	pub, err := promexport.Serve(t.Context(), "127.0.0.1:0", prometheus.NewRegistry(), promexport.WithAllowPublic(true))
	require.NoError(t, err)
	defer pub.Stop()
	assert.Equal(t, http.StatusOK, getHost(t, pub.URL(), "node1.cluster:9464"))
}

// blockingGatherer blocks each Gather until release is closed.
type blockingGatherer struct {
	entered chan struct{}
	release chan struct{}
}

func (b blockingGatherer) Gather() ([]*dto.MetricFamily, error) {
	b.entered <- struct{}{}
	<-b.release
	return nil, nil
}

func TestServeStopTimeout(t *testing.T) {
	g := blockingGatherer{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv, err := promexport.Serve(t.Context(), "127.0.0.1:0", g, promexport.WithShutdownTimeout(100*time.Millisecond))
	require.NoError(t, err)
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL())
		if err == nil {
			_ = resp.Body.Close()
		}
		got <- err
	}()
	<-g.entered
	t0 := time.Now()
	err = srv.Stop()
	require.ErrorIs(t, err, context.DeadlineExceeded, "a scrape stuck past the timeout is cut")
	assert.Less(t, time.Since(t0), 5*time.Second)
	assert.Equal(t, err, srv.Stop(), "Stop returns the same error again")
	close(g.release)
	<-got
}

func get(t *testing.T, url string, status int) (body, contentType string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, string(b))
	return string(b), resp.Header.Get("Content-Type")
}

// errGatherer fails every Gather.
type errGatherer struct{}

func (errGatherer) Gather() ([]*dto.MetricFamily, error) {
	return nil, errors.New("sensor table broken")
}

func TestServeLogsScrapeErrors(t *testing.T) {
	var logs lockedBuffer
	srv, err := promexport.Serve(t.Context(), "127.0.0.1:0", errGatherer{},
		promexport.WithAllowPublic(true), promexport.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	defer srv.Stop()
	get(t, srv.URL(), http.StatusInternalServerError)
	require.NoError(t, srv.Stop())
	assert.Contains(t, logs.String(), "promexport: scrape failed")
	assert.Contains(t, logs.String(), "sensor table broken")
}
