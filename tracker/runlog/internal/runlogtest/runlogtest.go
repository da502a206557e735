// Package runlogtest holds what the tests of runlog and of the packages that
// draw its runs share: their environment, logs written by trackers and by
// Python carbontracker, and a helper to write them.
package runlogtest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

// Main runs a package's tests: no test asks a cloud metadata service or
// depends on this machine's time zone (without a zone, trackers use the
// world average), and none leaves a goroutine behind.
func Main(m *testing.M) {
	os.Setenv(factor.CloudMetadataEnv, "off")
	os.Setenv("TZ", "UTC")
	os.Unsetenv(factor.ZoneEnv)
	goleak.VerifyTestMain(m)
}

// Allocated returns the bytes f allocates.
func Allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// Write writes text into dir/name, making its directories, and returns the
// path.
func Write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// TrackerRun runs a tracker on fake sources (a 300 W GPU, a 50 W CPU) for
// epochs of 10 minutes, stopping after done epochs, and returns its Report.
func TrackerRun(t *testing.T, dir string, epochs, done int) tracker.Report {
	t.Helper()
	var rep tracker.Report
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srcs := []power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
		}
		tr, err := tracker.New(epochs, tracker.WithSources(srcs), tracker.WithLogDir(dir), tracker.WithVerbose(0),
			tracker.WithFixedIntensity(200), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		for range done {
			tr.EpochStart()
			time.Sleep(10 * time.Minute)
			tr.EpochEnd()
		}
		if done < epochs {
			tr.EpochStart()
			time.Sleep(5 * time.Minute)
		}
		tr.Stop()
		rep = tr.Report()
	})
	return rep
}

// KilledJSONL is the JSON lines of an older carbontrack, killed in its third
// epoch.
const KilledJSONL = `{"type":"epoch","epoch":1,"start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:10:00Z","duration_s":600,"energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_energy_kwh":0.05,"cpu_energy_kwh":0,"dram_energy_kwh":0,"emissions_g":15.8,"intensity_g_per_kwh":200,"pue":1.58,"interrupted":false,"devices":[{"name":"gpu:0","kind":"gpu","device":"H100","method":"counter","energy_kwh":0.05}]}
{"type":"projection","epochs":10,"known_epochs":1,"duration_s":6000,"facility_energy_kwh":0.79,"emissions_g":158,"trend":false,"emissions_low_g":158,"emissions_high_g":158}
{"type":"epoch","epoch":2,"start":"2025-03-01T12:10:00Z","end":"2025-03-01T12:20:00Z","duration_s":600,"energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_energy_kwh":0.05,"emissions_g":15.8,"pue":1.58,"devices":[{"name":"gpu:0","kind":"gpu","energy_kwh":0.05}]}
{"type":"epoch","epoch":3,"start":"2025-03-01T12:2`

// CTStd and CTOut are a carbontracker (Python) pair with two GPUs, as its loggerutil writes it:
// numpy arrays of one average power per device.
const CTStd = `2024-03-05 14:02:11 - carbontracker version 2.0.0
2024-03-05 14:02:11 - Only predicted and actual consumptions are multiplied by a PUE coefficient of 1.5 (Daniel Bizo, 2023, Uptime Institute Global Data Center Survey).
2024-03-05 14:02:12 - The following components were found: GPU with device(s) NVIDIA A100-SXM4-40GB, NVIDIA A100-SXM4-40GB. CPU with device(s) cpu:0.
2024-03-05 14:02:12 - Monitoring thread started.
2024-03-05 14:12:12 - Epoch 1:
2024-03-05 14:12:12 - Duration: 0:10:00.00
2024-03-05 14:12:12 - Average power usage (W) for gpu: [ 90.5  209.5]
2024-03-05 14:12:12 - Average power usage (W) for cpu: [50.]
2024-03-05 14:22:12 - Epoch 2:
2024-03-05 14:22:12 - Duration: 0:10:00.00
2024-03-05 14:22:12 - Average power usage (W) for gpu: None
2024-03-05 14:22:12 - Average power usage (W) for cpu: [50.]
`

const CTOut = `2024-03-05 14:12:13 - CarbonTracker: 
Predicted consumption for 4 epoch(s):
	Time:	0:40:00
	Energy:	0.350000000000 kWh
	CO2eq:	70.000000000000 g
	This is equivalent to:
	0.651162790698 km travelled by car
`
