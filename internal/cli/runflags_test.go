//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run's flags, their environment twins and usage errors.

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, nil, "no command given"},
		{"pattern without epochs", []string{"--epoch-pattern", "x", "--", "true"}, nil, "--epoch-pattern needs --epochs"},
		{"epochs without pattern", []string{"--epochs", "3", "--", "true"}, nil, "--epochs needs --epoch-pattern"},
		{"bad pattern", []string{"--epochs", "3", "--epoch-pattern", "(", "--", "true"}, nil, "--epoch-pattern: error parsing regexp"},
		{"enforce without budget", []string{"--enforce-budget", "--", "true"}, nil, "--enforce-budget needs --budget"},
		{"pue", []string{"--pue", "0.5", "--", "true"}, nil, "--pue must be in [1, 5]"},
		{"zone and region", []string{"--zone", "FR", "--region", "gcp:europe-west4", "--", "true"}, nil, "not both"},
		{"bad env", []string{"--", "true"}, map[string]string{"CARBONTRACK_PUE": "lots"}, `CARBONTRACK_PUE="lots"`},
		{"bad provider", []string{"--provider", "nope", "--", "true"}, nil, `unknown provider "nope"`},
		{"unknown flag", []string{"--nope", "--", "true"}, nil, "flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, stderr := runCLI(t, append([]string{"run"}, tc.args...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

func TestRunHelp(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Usage: carbontrack run [flags] [--] COMMAND [ARGS...]")
	assert.Contains(t, stderr, "Examples:")
	assert.Contains(t, stderr, "(env CARBONTRACK_EPOCH_PATTERN)")
}

// A flag on the command line wins over its twin's or its sibling's
// environment variable; two of one layer are an error.
func TestRunZoneRegionLayers(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		args         []string
		zone, region string
		err          string
	}{
		{name: "env zone, flag region", env: map[string]string{"CARBONTRACK_ZONE": "FR"},
			args: []string{"--region", "gcp:europe-west4"}, region: "gcp:europe-west4"},
		{name: "env region, flag zone", env: map[string]string{"CARBONTRACK_REGION": "gcp:europe-west4"},
			args: []string{"--zone", "DK1"}, zone: "DK1"},
		{name: "env zone, flag zone", env: map[string]string{"CARBONTRACK_ZONE": "FR"}, args: []string{"--zone", "DE"}, zone: "DE"},
		{name: "both flags", args: []string{"--zone", "FR", "--region", "gcp:europe-west4"}, err: "give --zone or --region, not both"},
		{name: "both env", env: map[string]string{"CARBONTRACK_ZONE": "FR", "CARBONTRACK_REGION": "aws:eu-west-3"},
			err: "CARBONTRACK_ZONE and CARBONTRACK_REGION are both set"},
		{name: "both env, flag zone", env: map[string]string{"CARBONTRACK_ZONE": "FR", "CARBONTRACK_REGION": "aws:eu-west-3"},
			args: []string{"--zone", "SE"}, zone: "SE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			o, _, _, code := parseRunFlags(append(tc.args, "--", "train"), &stderr)
			if tc.err != "" {
				assert.Equal(t, 2, code)
				assert.Contains(t, stderr.String(), tc.err)
				return
			}
			require.Equal(t, -1, code, stderr.String())
			assert.Equal(t, tc.zone, o.zone)
			assert.Equal(t, tc.region, o.region)
		})
	}
}

func TestRunJSONTwin(t *testing.T) {
	t.Setenv("CARBONTRACK_JSON", "1")
	o, _, _, code := parseRunFlags([]string{"--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.True(t, o.asJSON)
	o, _, _, code = parseRunFlags([]string{"--json=false", "--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.False(t, o.asJSON, "the command line wins")

	// Every flag of run has a twin, as the README says.
	fs := runFlagSet(&runOptions{}, io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		assert.Contains(t, fs.twins, f.Name)
		assert.Contains(t, f.Usage, "(env "+fs.twins[f.Name]+")")
	})
}

// Ctrl-C before the command started: the command never starts, and the
// exit code is SIGINT's.
func TestRunInterruptedBeforeStart(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	for _, mode := range []string{"--process=false", "--process"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			marker := filepath.Join(t.TempDir(), "started")
			var out, errb lockedBuffer
			code := runCommand(ctx, []string{"--sysfs-root", sysfs, "--log-dir", "", mode, "--", self, "touch", marker},
				&out, &errb, fakeTerminalDeps(nil))
			assert.Equal(t, 130, code, errb.String())
			assert.Contains(t, errb.String(), "interrupted before the command started")
			assert.NoFileExists(t, marker, "the command never started")
			assert.Empty(t, out.String())
		})
	}
}

// A live provider that does not answer used to hold the command back 20 s
// (two 10 s waits) and then count the world average: the command starts at
// once, and the zone's table value is counted.
func TestRunSlowProviderNeitherDelaysNorFallsToWorld(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	release, held := make(chan struct{}), make(chan struct{}, 8)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer api.Close()
	defer close(release)
	marker := filepath.Join(t.TempDir(), "started")
	var out, errb lockedBuffer
	code := runCommand(t.Context(), []string{"--sysfs-root", sysfs, "--log-dir", "", "--json", "--provider", "ukgrid",
		"--zone", "GB", "--provider-url", api.URL, "--", "sh", "-c", "touch " + marker}, &out, &errb, fakeTerminalDeps(nil))
	require.Equal(t, 0, code, errb.String())
	assert.FileExists(t, marker)
	select {
	case <-held:
	default:
		t.Fatal("the provider was never asked")
	}
	var rep runJSON
	require.NoError(t, json.Unmarshal([]byte(out.String()), &rep), out.String())
	gb, err := factor.Lookup("GB")
	require.NoError(t, err)
	assert.InDelta(t, float64(gb.Value), rep.IntensityGPerKW, 1e-9, "GB's table value, not the world average")
	assert.Equal(t, "GB", rep.Intensity.Zone)
	assert.Equal(t, "--zone", rep.Intensity.ZoneFrom)
}

func TestRunEnvTwins(t *testing.T) {
	t.Setenv("CARBONTRACK_PUE", "1.2")
	t.Setenv("CARBONTRACK_EPOCHS", "4")
	t.Setenv("CARBONTRACK_EPOCH_PATTERN", "done")
	o, argv, re, code := parseRunFlags([]string{"--pue", "1.1", "--", "train", "--lr", "3"}, io.Discard)
	require.Equal(t, -1, code)
	assert.Equal(t, 1.1, o.pue, "the command line wins")
	assert.Equal(t, 4, o.epochs)
	assert.Equal(t, "done", re.String())
	assert.Equal(t, []string{"train", "--lr", "3"}, argv)
}
