package runplot_test

import (
	"bytes"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/runplot"
)

func TestMain(m *testing.M) {
	// No test asks a cloud metadata service or depends on this machine's
	// time zone: without a zone, trackers use the world average.
	os.Setenv(factor.CloudMetadataEnv, "off")
	os.Setenv("TZ", "UTC")
	os.Unsetenv(factor.ZoneEnv)
	goleak.VerifyTestMain(m)
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// trackerRun runs a tracker on fake sources (a 300 W GPU, a 50 W CPU) for
// epochs of 10 minutes, stopping after done epochs, and returns its Report.
func trackerRun(t *testing.T, dir string, epochs, done int) tracker.Report {
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

// killedJSONL, ctStd and ctOut are logs of runlog's tests. killedJSONL: the
// JSON lines of an older carbontrack, killed in its third epoch.
const killedJSONL = `{"type":"epoch","epoch":1,"start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:10:00Z","duration_s":600,"energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_energy_kwh":0.05,"cpu_energy_kwh":0,"dram_energy_kwh":0,"emissions_g":15.8,"intensity_g_per_kwh":200,"pue":1.58,"interrupted":false,"devices":[{"name":"gpu:0","kind":"gpu","device":"H100","method":"counter","energy_kwh":0.05}]}
{"type":"projection","epochs":10,"known_epochs":1,"duration_s":6000,"facility_energy_kwh":0.79,"emissions_g":158,"trend":false,"emissions_low_g":158,"emissions_high_g":158}
{"type":"epoch","epoch":2,"start":"2025-03-01T12:10:00Z","end":"2025-03-01T12:20:00Z","duration_s":600,"energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_energy_kwh":0.05,"emissions_g":15.8,"pue":1.58,"devices":[{"name":"gpu:0","kind":"gpu","energy_kwh":0.05}]}
{"type":"epoch","epoch":3,"start":"2025-03-01T12:2`

// A carbontracker (Python) pair with two GPUs, as its loggerutil writes it:
// numpy arrays of one average power per device.
const ctStd = `2024-03-05 14:02:11 - carbontracker version 2.0.0
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

const ctOut = `2024-03-05 14:12:13 - CarbonTracker: 
Predicted consumption for 4 epoch(s):
	Time:	0:40:00
	Energy:	0.350000000000 kWh
	CO2eq:	70.000000000000 g
	This is equivalent to:
	0.651162790698 km travelled by car
`

func TestPlot(t *testing.T) {
	dir := t.TempDir()
	trackerRun(t, filepath.Join(dir, "a"), 3, 3)
	write(t, dir, "b/7.8_2025-03-01T120000Z"+runlog.SuffixJSONLines, killedJSONL)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 2)

	png1 := filepath.Join(dir, "runs.png")
	require.NoError(t, runplot.PlotFile(png1, runs))
	f, err := os.Open(png1)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Equal(t, 768, b.Dx(), "8 inches at 96 DPI")
	assert.Equal(t, 768, b.Dy())
	colours := map[color.RGBA]int{}
	nonWhite := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			c := color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bl >> 8), A: uint8(a >> 8)}
			colours[c]++
			if c != (color.RGBA{R: 255, G: 255, B: 255, A: 255}) {
				nonWhite++
			}
		}
	}
	assert.Greater(t, len(colours), 10, "lines, bars, text and grid in several colours")
	assert.Greater(t, nonWhite, 768*768/50, "not blank")
	// Two runs: each has its colour, in the lines and the bars.
	for _, run := range []color.RGBA{{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0xd6, G: 0x27, B: 0x28, A: 0xff}} {
		assert.Greater(t, colours[run], 50, "the runs' lines and bars are drawn: %v", run)
	}
	// One run: the components have theirs.
	png2 := filepath.Join(dir, "run.png")
	require.NoError(t, runplot.PlotFile(png2, runs[:1]))
	f2, err := os.Open(png2)
	require.NoError(t, err)
	defer f2.Close()
	img, err = png.Decode(f2)
	require.NoError(t, err)
	clear(colours)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bl >> 8), A: uint8(a >> 8)}]++
		}
	}
	for _, kind := range []color.RGBA{{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}} {
		assert.Greater(t, colours[kind], 50, "the gpu and cpu lines are drawn: %v", kind)
	}

	var svg bytes.Buffer
	require.NoError(t, runplot.Plot(&svg, "svg", runs))
	assert.True(t, strings.HasPrefix(svg.String(), "<?xml"), svg.String()[:min(50, svg.Len())])
	assert.Contains(t, svg.String(), "Emissions per epoch")

	assert.ErrorIs(t, runplot.Plot(&svg, "svg", []runlog.Run{{Name: "empty"}}), runplot.ErrNothingToPlot)
	assert.Error(t, runplot.PlotFile(filepath.Join(dir, "x.jpg"), runs))
	assert.Error(t, runplot.Plot(&svg, "gif", runs))
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// A plot is sized by the epochs present, not by the largest epoch
// number; an absurd epoch number is no allocation.
func TestPlotHugeEpochNumber(t *testing.T) {
	for _, n := range []string{"100000000", "4000000000", "99999999999999999999"} {
		t.Run("pair "+n, func(t *testing.T) {
			dir := t.TempDir()
			std := strings.Replace(ctStd, "Epoch 2:", "Epoch "+n+":", 1)
			write(t, dir, "1.2_x"+runlog.SuffixStdLog, std)
			write(t, dir, "1.2_x"+runlog.SuffixOutputLog, ctOut)
			runs, _ := runlog.Read(dir)
			var err error
			got := allocated(func() { err = runplot.PlotFile(filepath.Join(dir, "p.png"), runs) })
			if len(runs) > 0 {
				require.NoError(t, err)
			}
			assert.Less(t, got, uint64(200<<20), "bytes allocated")
		})
	}
	for _, n := range []string{"100000000", "4000000000"} {
		t.Run("jsonl "+n, func(t *testing.T) {
			dir := t.TempDir()
			jl := strings.Replace(killedJSONL, `"epoch":2,`, `"epoch":`+n+`,`, 1)
			write(t, dir, "1.2_x"+runlog.SuffixJSONLines, jl)
			runs, _ := runlog.Read(dir)
			require.NotEmpty(t, runs)
			var err error
			got := allocated(func() { err = runplot.PlotFile(filepath.Join(dir, "p.svg"), runs) })
			require.NoError(t, err)
			assert.Less(t, got, uint64(200<<20), "bytes allocated")
		})
	}
	// Straight to the plotter: the largest int, several runs.
	runs := []runlog.Run{
		{Name: "a", EpochRecords: []runlog.Epoch{{N: 1, Grams: 1, Duration: time.Minute}, {N: 1<<63 - 1, Grams: 2, Duration: time.Minute}}},
		{Name: "b", EpochRecords: []runlog.Epoch{{N: 1 << 62, Grams: 3, Duration: time.Minute}}},
	}
	var buf bytes.Buffer
	got := allocated(func() { require.NoError(t, runplot.Plot(&buf, "svg", runs)) })
	assert.Less(t, got, uint64(200<<20))
}
