package tracker_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

// A laptop whose GPU nothing reads: the CPU is estimated, the GPU declared
// at 15 W, 80 % used. The GPU's energy is exactly 12 W × the time.
func ExampleWithDeclaredPower() {
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	cpu := powertest.Constant("cpu:estimate", power.KindCPU, power.MethodEstimated, 20, clock.Now())
	cpu.Clock = clock.Now
	t, err := tracker.New(1,
		tracker.WithSources([]power.Source{cpu}), tracker.WithClock(clock.Now), tracker.WithInterval(time.Millisecond),
		tracker.WithDeclared(power.DeclaredPower{Kind: power.KindGPU, Device: "Apple M2 GPU", Power: 15, Utilization: 0.8}),
		tracker.WithFixedIntensity(200), tracker.WithPUE(1), tracker.WithVerbose(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	t.EpochStart()
	clock.Advance(time.Hour)
	t.EpochEnd()
	t.Stop()
	for _, s := range t.Report().Sources {
		fmt.Printf("%s (%s, %s): %.4f kWh\n", s.Info.Name, s.Info.Device, s.Info.Method, s.DeviceEnergy.KWh())
	}
	// Output:
	// gpu:declared (Apple M2 GPU, declared): 0.0120 kWh
	// cpu:estimate (cpu:estimate, estimated): 0.0200 kWh
}

func TestDeclaredReplacesEstimateKeepsMeasured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		gpu0 := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start)
		cpuEst := powertest.Constant("cpu:estimate", power.KindCPU, power.MethodEstimated, 50, start)
		var logs bytes.Buffer
		dir := t.TempDir()
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{gpu0, cpuEst}),
			tracker.WithDeclaredPower(power.KindCPU, "Apple M2", 20),
			tracker.WithDeclared(power.DeclaredPower{Kind: power.KindGPU, Device: "eGPU", Power: 100, Utilization: 0.5}),
			tracker.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), tracker.WithLogDir(dir),
			tracker.WithFixedIntensity(100), tracker.WithVerbose(0))
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(100 * time.Second)
		tr.EpochEnd()
		tr.Stop()
		r := tr.Report()
		var got []string
		for _, s := range r.Sources {
			got = append(got, fmt.Sprintf("%s %s %.3f", s.Info.Name, s.Info.Method, float64(s.DeviceEnergy)))
		}
		assert.Equal(t, []string{
			"gpu:0 counter 30000.000",
			"gpu:declared declared 5000.000",
			"cpu:declared declared 2000.000",
		}, got, "the CPU estimate is replaced; the measured GPU is kept")
		assert.Contains(t, logs.String(), "gpu is measured (gpu:0, counter) and a gpu is declared too: both are counted")
		assert.Contains(t, logs.String(), "estimate replaced by a declared device")

		// The JSON lines name the method of each device.
		files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		require.NoError(t, err)
		require.NotEmpty(t, files)
		b, err := os.ReadFile(files[0])
		require.NoError(t, err)
		var methods []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var rec struct {
				Devices []struct {
					Name, Method string
				} `json:"devices"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
			for _, d := range rec.Devices {
				methods = append(methods, d.Name+"="+d.Method)
			}
		}
		assert.Contains(t, methods, "cpu:declared=declared")
		assert.Contains(t, methods, "gpu:declared=declared")
	})
}

func TestDeclaredChecks(t *testing.T) {
	src := []power.Source{powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, time.Now())}
	_, err := tracker.New(1, tracker.WithSources(src), tracker.WithVerbose(0), tracker.WithFixedIntensity(100),
		tracker.WithDeclaredPower(power.KindGPU, "x", -3))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tracker: power: declared: gpu power -3 W")

	// A kind left out by WithComponents is not counted.
	tr, err := tracker.New(1, tracker.WithSources(src), tracker.WithVerbose(0), tracker.WithFixedIntensity(100),
		tracker.WithComponents(power.KindCPU), tracker.WithDeclaredPower(power.KindGPU, "x", 10))
	require.NoError(t, err)
	tr.Stop()
	require.Len(t, tr.Report().Sources, 1)
	assert.Equal(t, "cpu:0", tr.Report().Sources[0].Info.Name)
}
