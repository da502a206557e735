//go:build unix

package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
)

// --work-per-epoch: each epoch end reports the work; the report gives it,
// per epoch and summed, and the per-million figures.
func TestRunWorkPerEpoch(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("CARBONTRACK_WORK_UNIT", "tokens") // the twin
	rf := filepath.Join(t.TempDir(), "report.json")
	var out, errb lockedBuffer
	code := runCommand(t.Context(), []string{"--sysfs-root", sysfs, "--log-dir", "", "--interval", "50ms",
		"--report-file", rf, "--epochs", "3", "--epoch-start-pattern", `^epoch \d+$`, "--work-per-epoch", "1e6",
		"--", "sh", "-c", `for i in 1 2 3; do echo epoch $i; sleep 0.2; done`}, &out, &errb, fakeTerminalDeps(nil))
	require.Equal(t, 0, code, errb.String())
	b, err := os.ReadFile(rf)
	require.NoError(t, err)
	var doc struct {
		Work           float64 `json:"work"`
		WorkUnit       string  `json:"work_unit"`
		PerMillionWork *struct {
			FacilityKWh *float64 `json:"facility_energy_kwh"`
			EmissionsG  *float64 `json:"emissions_g"`
			Epochs      int      `json:"epochs"`
		} `json:"per_million_work"`
		Epochs []struct {
			Work float64 `json:"work"`
		} `json:"epochs"`
	}
	require.NoError(t, json.Unmarshal(b, &doc), string(b))
	assert.Equal(t, 3e6, doc.Work)
	assert.Equal(t, "tokens", doc.WorkUnit)
	require.NotNil(t, doc.PerMillionWork, string(b))
	assert.Equal(t, 3, doc.PerMillionWork.Epochs)
	assert.NotNil(t, doc.PerMillionWork.FacilityKWh)
	assert.NotNil(t, doc.PerMillionWork.EmissionsG)
	require.Len(t, doc.Epochs, 3)
	for _, e := range doc.Epochs {
		assert.Equal(t, 1e6, e.Work)
	}
	assert.Contains(t, errb.String(), "efficiency: Per million tokens:")
	assert.Contains(t, errb.String(), "(over 3 epoch(s), 3,000,000 tokens)")
}

// Without --work-per-epoch the report has no work fields.
func TestRunNoWork(t *testing.T) {
	code, stderr, _ := runInProcess(t, nil, "true")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "efficiency")
	rep := tracker.Report{PUE: 1}
	b, err := json.Marshal(buildRunJSON([]string{"x"}, 0, "", time.Second, &rep, &tracker.Status{}, false))
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"work`)
	assert.NotContains(t, string(b), "per_million")
}

// The per-million figures as the report prints and writes them.
func TestRunReportPerWork(t *testing.T) {
	rep := tracker.Report{PUE: 1.5, Work: 3e6, WorkUnit: "samples", WorkEpochs: 3,
		WorkTotals: tracker.Totals{FacilityEnergy: 4.5 * power.Joules(3.6e6), Grams: 450}}
	out := buildRunJSON([]string{"train"}, 0, "", time.Hour, &rep, &tracker.Status{}, false)
	require.NotNil(t, out.PerMillionWork)
	assert.InDelta(t, 1.5, out.PerMillionWork.FacilityKWh, 1e-12)
	assert.InDelta(t, 150, out.PerMillionWork.EmissionsG, 1e-9)
	assert.Equal(t, "samples", out.WorkUnit)
	var b strings.Builder
	printRunReport(&b, &out, &rep)
	assert.Contains(t, b.String(), "  efficiency: Per million samples: 1.50 kWh, 150.0 g CO2e (over 3 epoch(s), 3,000,000 samples).\n")
}

func TestRunWorkFlags(t *testing.T) {
	o, _, _, code := parseRunFlags([]string{"--work-per-epoch", "512", "--work-unit", "images", "--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.Equal(t, 512.0, o.workPerEpoch)
	assert.Equal(t, "images", o.workUnit)

	t.Setenv("CARBONTRACK_WORK_PER_EPOCH", "2048")
	o, _, _, code = parseRunFlags([]string{"--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.Equal(t, 2048.0, o.workPerEpoch, "the twin")

	for _, bad := range []string{"-1", "NaN", "+Inf"} {
		var errb strings.Builder
		_, _, _, code = parseRunFlags([]string{"--work-per-epoch", bad, "--", "train"}, &errb)
		assert.Equal(t, 2, code, bad)
		assert.Contains(t, errb.String(), "work-per-epoch", bad)
	}
}
