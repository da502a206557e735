package cli

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport"
)

// ctFixture holds three log pairs written as the Python carbontracker 2.x
// writes them (loggerutil.py: "%Y-%m-%d %H:%M:%S - msg" lines, numpy arrays
// of one power per device, blocks of 12 decimals): a finished run of 3
// epochs on two A100s; a run of 10 epochs killed after 2 (projection only,
// and an _err.log); a run stopped early after 2 of 5 epochs (log prefix
// "train").
const ctFixture = "testdata/report/carbontracker"

func TestReportCarbontrackerFixture(t *testing.T) {
	code, out, stderr := runCLI(t, "report", ctFixture)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(out, "\n")
	require.GreaterOrEqual(t, len(lines), 5, out)
	assert.Regexp(t, `^RUN\s+FORMAT\s+EPOCHS\s+DURATION\s+FACILITY kWh\s+DEVICE kWh\s+CO2e g\s+BASIS$`, lines[0])
	// carbontracker's blocks have the facility energy only: DEVICE "-".
	assert.Regexp(t, `^41237\.582913_2024-03-05T140211Z\s+carbontracker\s+3/3\s+0:30:01\s+0\.491\s+-\s+73\.6\s+actual$`, lines[1])
	assert.Regexp(t, `^52011\.90211_2024-03-06T091500Z\s+carbontracker\s+2/10\s+5:02:34\s+2\.84\s+-\s+426\s+projection \[1\]$`, lines[2])
	assert.Regexp(t, `^train_60777\.311876_2024-03-07T220405Z\s+carbontracker\s+2/5\s+0:03:11\s+0\.0589\s+-\s+22\.4\s+actual \[2\]$`, lines[3])
	assert.Regexp(t, `^TOTAL \(3 runs\)\s+7\s+5:35:46\s+3\.39\s+-\s+522\s+2 actual, 1 projection$`, lines[4])
	assert.Contains(t, out, "FACILITY kWh includes the PUE (device energy × PUE); DEVICE kWh is what the devices drew, before PUE.")
	assert.Contains(t, out, "[1] 52011.90211_2024-03-06T091500Z: the log ends after 2 of 10 epochs without the actual consumption")
	assert.Contains(t, out, "[2] train_60777.311876_2024-03-07T220405Z: stopped after 2 of 5 epochs")
	assert.NotContains(t, out, "EPOCH ", "no per-epoch tables without --per-epoch")
}

func TestReportPerEpoch(t *testing.T) {
	code, out, stderr := runCLI(t, "report", "--per-epoch", ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "41237.582913_2024-03-05T140211Z (carbontracker, PUE 1.58):")
	// Epoch 1 of the first run: GPUs 251.0775 + 248.3122 W, CPUs 61.23 +
	// 58.91 W for 600.12 s = 0.103 kWh of device energy, × PUE 1.58 =
	// 0.163 kWh of facility energy, × 149.95 g/kWh.
	assert.Regexp(t, `(?m)^  1\s+0\.88 s\s+0:10:00\s+0\.163\s+0\.103\s+24\.5\s+499\s+120$`, out)
	assert.NotContains(t, out, "whole run", "carbontracker does not log it")
}

func TestReportJSON(t *testing.T) {
	// Flags may follow the directory.
	code, out, stderr := runCLI(t, "report", ctFixture, "--json")
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Runs []struct {
			Name              string    `json:"name"`
			Format            string    `json:"format"`
			Basis             string    `json:"basis"`
			Note              string    `json:"note"`
			EpochsPlanned     int       `json:"epochs_planned"`
			EpochsCompleted   int       `json:"epochs_completed"`
			Finished          bool      `json:"finished"`
			FacilityEnergyKWh float64   `json:"facility_energy_kwh"`
			DeviceEnergyKWh   *float64  `json:"device_energy_kwh"`
			EmissionsG        float64   `json:"emissions_g"`
			WholeRun          *struct{} `json:"whole_run"`
			Actual            *struct {
				Epochs     int     `json:"epochs"`
				EmissionsG float64 `json:"emissions_g"`
			} `json:"actual"`
			Projection *struct {
				Epochs int `json:"epochs"`
			} `json:"projection"`
			Components []string `json:"components"`
			Epochs     []struct {
				Epoch             int                `json:"epoch"`
				FacilityEnergyKWh float64            `json:"facility_energy_kwh"`
				DeviceEnergyKWh   float64            `json:"device_energy_kwh"`
				AvgPowerW         map[string]float64 `json:"avg_power_w"`
			} `json:"epochs"`
		} `json:"runs"`
		Total struct {
			Runs              int            `json:"runs"`
			FacilityEnergyKWh float64        `json:"facility_energy_kwh"`
			DeviceEnergyKWh   float64        `json:"device_energy_kwh"`
			DeviceEnergyRuns  int            `json:"device_energy_runs"`
			EmissionsG        float64        `json:"emissions_g"`
			RunsByBasis       map[string]int `json:"runs_by_basis"`
		} `json:"total"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Runs, 3)
	r := doc.Runs[0]
	assert.Equal(t, "carbontracker", r.Format)
	assert.Equal(t, "actual", r.Basis)
	assert.True(t, r.Finished)
	assert.InDelta(t, 0.490686333622, r.FacilityEnergyKWh, 1e-12)
	assert.Nil(t, r.DeviceEnergyKWh, "carbontracker's block has the facility energy only")
	assert.Nil(t, r.WholeRun)
	assert.InDelta(t, 73.578415726579, r.EmissionsG, 1e-12)
	assert.Equal(t, []string{"gpu", "cpu"}, r.Components)
	require.Len(t, r.Epochs, 3)
	assert.InDelta(t, 251.0775+248.3122, r.Epochs[0].AvgPowerW["gpu"], 1e-9, "both GPUs")
	assert.InDelta(t, 62.4+58.125, r.Epochs[2].AvgPowerW["cpu"], 1e-9)
	assert.InDelta(t, r.Epochs[0].DeviceEnergyKWh*1.58, r.Epochs[0].FacilityEnergyKWh, 1e-12)

	assert.Equal(t, "projection", doc.Runs[1].Basis)
	assert.Nil(t, doc.Runs[1].Actual)
	assert.Equal(t, 10, doc.Runs[1].Projection.Epochs)
	assert.Equal(t, 2, doc.Runs[1].EpochsCompleted)
	assert.Equal(t, 10, doc.Runs[1].EpochsPlanned)

	assert.Equal(t, "actual", doc.Runs[2].Basis)
	assert.Equal(t, 2, doc.Runs[2].Actual.Epochs)
	assert.Equal(t, 5, doc.Runs[2].Projection.Epochs)

	assert.Equal(t, 3, doc.Total.Runs)
	assert.Equal(t, map[string]int{"run": 0, "checkpoint": 0, "actual": 2, "projection": 1, "measured": 0, "none": 0}, doc.Total.RunsByBasis)
	assert.InDelta(t, 0.490686333622+2.842835715556+0.058858183042, doc.Total.FacilityEnergyKWh, 1e-9)
	assert.Zero(t, doc.Total.DeviceEnergyRuns)
	assert.InDelta(t, 73.578415726579+426.283215547556+22.389652829050, doc.Total.EmissionsG, 1e-9)
}

func TestReportPlot(t *testing.T) {
	dir := t.TempDir()
	pngPath := filepath.Join(dir, "ct.png")
	code, _, stderr := runCLI(t, "report", "--plot", pngPath, ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "plot written to "+pngPath)
	f, err := os.Open(pngPath)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 768, img.Bounds().Dx())
	assert.Equal(t, 768, img.Bounds().Dy())
	colours := map[uint32]bool{}
	nonWhite := 0
	for y := 0; y < 768; y += 2 {
		for x := 0; x < 768; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
			if r>>8 != 255 || g>>8 != 255 || b>>8 != 255 {
				nonWhite++
			}
		}
	}
	assert.Greater(t, len(colours), 10)
	assert.Greater(t, nonWhite, 384*384/50)

	svgPath := filepath.Join(dir, "ct.SVG")
	code, _, stderr = runCLI(t, "report", "--plot", svgPath, ctFixture)
	require.Equal(t, 0, code, stderr)
	svg, err := os.ReadFile(svgPath)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(svg), "<?xml"))
	assert.Contains(t, string(svg), "Power draw of the devices by component")
}

func TestReportErrors(t *testing.T) {
	code, _, stderr := runCLI(t, "report", "--plot", "x.jpg", ctFixture)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "must end in .png or .svg")

	code, _, stderr = runCLI(t, "report", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no carbontrack or carbontracker logs in")
	assert.Contains(t, stderr, "no run found")

	// A bad log is reported; the others are still counted.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "1.2_x_carbontrack.jsonl"), []byte("{\n"), 0o644))
	code, out, stderr := runCLI(t, "report", ctFixture, dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "1.2_x_carbontrack.jsonl: line 1")
	assert.Contains(t, out, "TOTAL (3 runs)")
	assert.Contains(t, out, "testdata/report/carbontracker/41237", "several directories: runs are named with theirs")

	code, _, _ = runCLI(t, "report", "--nope")
	assert.Equal(t, 2, code)
	code, _, stderr = runCLI(t, "report", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Examples:")
	assert.Contains(t, stderr, "DEVICE kWh    device energy: what the devices drew, before PUE")
	assert.Contains(t, stderr, "checkpoint (killed)")
	assert.Contains(t, stderr, "(env CARBONTRACK_PER_EPOCH)")

	t.Setenv("CARBONTRACK_PLOT", "x.gif")
	code, _, stderr = runCLI(t, "report", ctFixture)
	assert.Equal(t, 2, code, "the twin is checked like the flag")
	assert.Contains(t, stderr, `--plot "x.gif"`)
}

// report's flags have environment twins; the command line wins.
func TestReportEnvTwins(t *testing.T) {
	t.Setenv("CARBONTRACK_JSON", "1")
	t.Setenv("CARBONTRACK_PER_EPOCH", "true")
	code, out, stderr := runCLI(t, "report", ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(out, "{"), "CARBONTRACK_JSON=1: %s", out)
	code, out, stderr = runCLI(t, "report", "--json=false", ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(out, "RUN "), out)
	assert.Contains(t, out, "EPOCH ", "CARBONTRACK_PER_EPOCH=true")

	t.Setenv("CARBONTRACK_PER_EPOCH", "maybe")
	code, _, stderr = runCLI(t, "report", ctFixture)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `CARBONTRACK_PER_EPOCH="maybe"`)
}

// The DEVICE kWh total over the nodes' log directories is what
// Prometheus' energy counters end at, summed over the nodes: each run
// counts its whole run, time outside the epochs included; FACILITY kWh is
// that × PUE, and CO2e the tracker's own grams.
func TestReportDeviceEnergyMatchesPrometheus(t *testing.T) {
	base := t.TempDir()
	var promKWh, grams float64
	for i, node := range []string{"node1", "node2"} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			tr, err := tracker.New(2, tracker.WithSources([]power.Source{
				powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, power.Watts(300+100*i), start),
				powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
			}), tracker.WithLogDir(filepath.Join(base, node)), tracker.WithVerbose(0),
				tracker.WithFixedIntensity(100), tracker.WithInterval(time.Second))
			require.NoError(t, err)
			col, err := promexport.NewCollector(tr, promexport.WithRunID("r1"), promexport.WithNode(node))
			require.NoError(t, err)
			reg := prometheus.NewRegistry()
			require.NoError(t, reg.Register(col))
			time.Sleep(2 * time.Minute) // start-up, outside the epochs
			for range 2 {
				tr.EpochStart()
				time.Sleep(10 * time.Minute)
				tr.EpochEnd()
			}
			time.Sleep(3 * time.Minute) // saving the model
			tr.Stop()
			grams += tr.Report().Run.Grams
			mfs, err := reg.Gather()
			require.NoError(t, err)
			for _, mf := range mfs {
				if mf.GetName() == promexport.MetricEnergy {
					for _, m := range mf.GetMetric() {
						promKWh += m.GetCounter().GetValue() / 3.6e6
					}
				}
			}
		})
	}
	require.InDelta(t, (350+450)*25.0/60/1000, promKWh, 1e-6, "350 W and 450 W for 25 minutes")

	code, out, stderr := runCLI(t, "report", "--json", filepath.Join(base, "node1"), filepath.Join(base, "node2"))
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Runs []struct {
			Basis           string   `json:"basis"`
			DeviceEnergyKWh *float64 `json:"device_energy_kwh"`
			OutsideEpochs   *struct {
				DurationS float64 `json:"duration_s"`
			} `json:"outside_epochs"`
		} `json:"runs"`
		Total struct {
			FacilityEnergyKWh float64 `json:"facility_energy_kwh"`
			DeviceEnergyKWh   float64 `json:"device_energy_kwh"`
			DeviceEnergyRuns  int     `json:"device_energy_runs"`
			EmissionsG        float64 `json:"emissions_g"`
		} `json:"total"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Runs, 2)
	for _, r := range doc.Runs {
		assert.Equal(t, "run", r.Basis)
		assert.NotNil(t, r.DeviceEnergyKWh)
		require.NotNil(t, r.OutsideEpochs)
		assert.InDelta(t, 300, r.OutsideEpochs.DurationS, 1e-6, "5 minutes outside the epochs")
	}
	assert.Equal(t, 2, doc.Total.DeviceEnergyRuns)
	assert.InDelta(t, promKWh, doc.Total.DeviceEnergyKWh, 1e-9, "Prometheus' total, offline")
	assert.InDelta(t, promKWh*1.58, doc.Total.FacilityEnergyKWh, 1e-9, "PUE included")
	assert.InDelta(t, grams, doc.Total.EmissionsG, 1e-6)

	code, out, stderr = runCLI(t, "report", base, ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^TOTAL \(5 runs\).*\s`+regexp.QuoteMeta(human(promKWh))+` \(2 of 5 runs\)\s.*\s2 run, 2 actual, 1 projection$`, out)
}

// trackerLogs runs a tracker on a 300 W GPU and a 50 W CPU in dir: f
// drives it (epochs, sleeps) before Stop.
func trackerLogs(t *testing.T, dir string, epochs int, f func(tr *tracker.Tracker)) tracker.Report {
	t.Helper()
	var rep tracker.Report
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		tr, err := tracker.New(epochs, tracker.WithSources([]power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
		}), tracker.WithLogDir(dir), tracker.WithVerbose(0), tracker.WithFixedIntensity(200), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		f(tr)
		tr.Stop()
		rep = tr.Report()
	})
	return rep
}

// A run that failed before any epoch ended (the tracker stopped with 0
// completed epochs, as after "carbontrack run -- sh -c 'sleep 3; exit 3'")
// shows what it drew, not 0.
func TestReportFailedRun(t *testing.T) {
	dir := t.TempDir()
	rep := trackerLogs(t, dir, 5, func(*tracker.Tracker) { time.Sleep(4 * time.Minute) })
	require.Equal(t, 0, rep.Completed)
	require.Greater(t, rep.Run.Grams, 0.0)

	code, out, stderr := runCLI(t, "report", "--per-epoch", dir)
	require.Equal(t, 0, code, stderr)
	// 350 W for 4 minutes: 0.0233 kWh of device energy, × 1.58 = 0.0369
	// kWh of facility energy, × 200 g/kWh = 7.37 g.
	assert.Regexp(t, `(?m)^\d+\.\d+_\S+\s+carbontrack\s+0/5\s+0:04:00\s+0\.0369\s+0\.0233\s+7\.37\s+run \[1\]$`, out)
	assert.Regexp(t, `(?m)^TOTAL \(1 run\)\s+0\s+0:04:00\s+0\.0369\s+0\.0233\s+7\.37\s+1 run$`, out)
	assert.Contains(t, out, "no epoch completed (the run failed, or was stopped before its first epoch ended); the whole run measured is counted")
	assert.Regexp(t, `(?m)^  outside epochs\s+0:04:00\s+0\.0369\s+0\.0233\s+7\.37$`, out)
	assert.Contains(t, out, "no epoch logged")

	code, out, stderr = runCLI(t, "report", "--json", dir)
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Runs []struct {
			Basis             string   `json:"basis"`
			Note              string   `json:"note"`
			FacilityEnergyKWh float64  `json:"facility_energy_kwh"`
			DeviceEnergyKWh   *float64 `json:"device_energy_kwh"`
			EmissionsG        float64  `json:"emissions_g"`
			Actual            struct {
				EmissionsG float64 `json:"emissions_g"`
			} `json:"actual"`
			PowerPoints int `json:"power_points"`
		} `json:"runs"`
		Total struct {
			FacilityEnergyKWh float64 `json:"facility_energy_kwh"`
			EmissionsG        float64 `json:"emissions_g"`
		} `json:"total"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Runs, 1)
	r := doc.Runs[0]
	assert.Equal(t, "run", r.Basis)
	assert.Contains(t, r.Note, "no epoch completed")
	assert.InDelta(t, rep.Run.FacilityEnergy.KWh(), r.FacilityEnergyKWh, 1e-12)
	require.NotNil(t, r.DeviceEnergyKWh)
	assert.InDelta(t, rep.Run.DeviceEnergy.KWh(), *r.DeviceEnergyKWh, 1e-12)
	assert.InDelta(t, rep.Run.Grams, r.EmissionsG, 1e-9)
	assert.Zero(t, r.Actual.EmissionsG, "carbontracker's actual consumption: no epoch")
	assert.InDelta(t, rep.Run.Grams, doc.Total.EmissionsG, 1e-9)
	assert.Equal(t, 24, r.PowerPoints, "the power between 10 s checkpoints")

	// --plot draws it: the power from the checkpoints.
	png := filepath.Join(t.TempDir(), "failed.png")
	code, _, stderr = runCLI(t, "report", "--plot", png, dir)
	require.Equal(t, 0, code, stderr)
	assert.FileExists(t, png)
}

// A killed run (no final record: its JSON lines end after some checkpoints,
// the last line cut in the middle) counts up to its last checkpoint, and
// says so.
func TestReportKilledRun(t *testing.T) {
	dir := t.TempDir()
	trackerLogs(t, dir, 10, func(tr *tracker.Tracker) {
		for range 3 {
			tr.EpochStart()
			time.Sleep(2 * time.Minute)
			tr.EpochEnd()
		}
	})
	jsonl, err := filepath.Glob(filepath.Join(dir, "*_carbontrack.jsonl"))
	require.NoError(t, err)
	require.Len(t, jsonl, 1)
	b, err := os.ReadFile(jsonl[0])
	require.NoError(t, err)
	// Keep everything up to the checkpoint at 4:10, then part of a line.
	i := strings.Index(string(b), `"duration_s":250,`)
	require.Positive(t, i, "a checkpoint at 250 s")
	end := i + strings.IndexByte(string(b[i:]), '\n') + 1
	require.NoError(t, os.WriteFile(jsonl[0], append(b[:end:end], b[end:end+40]...), 0o644))

	code, out, stderr := runCLI(t, "report", dir)
	require.Equal(t, 0, code, stderr)
	// 350 W for 4:10: 0.0243 kWh of device energy, × 1.58 = 0.0384 kWh, ×
	// 200 g/kWh = 7.68 g.
	assert.Regexp(t, `(?m)^\d+\.\d+_\S+\s+carbontrack\s+2/10\s+0:04:10\s+0\.0384\s+0\.0243\s+7\.68\s+checkpoint \(killed\) \[1\]$`, out)
	assert.Regexp(t, `(?m)^TOTAL \(1 run\)\s+2\s+0:04:10\s+0\.0384\s+0\.0243\s+7\.68\s+1 checkpoint$`, out)
	assert.Regexp(t, `\[1\] \S+: killed or still running: counted up to its last checkpoint at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, 2 of 10 epochs completed \(the projection for 10 epochs is \S+ g\)`, out)

	code, out, stderr = runCLI(t, "report", "--json", dir)
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Runs []struct {
			Basis        string     `json:"basis"`
			Finished     bool       `json:"finished"`
			CheckpointAt *time.Time `json:"checkpoint_at"`
			Start        *time.Time `json:"start"`
			DurationS    float64    `json:"duration_s"`
			EmissionsG   float64    `json:"emissions_g"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Runs, 1)
	r := doc.Runs[0]
	assert.Equal(t, "checkpoint", r.Basis)
	assert.False(t, r.Finished)
	require.NotNil(t, r.CheckpointAt)
	require.NotNil(t, r.Start)
	assert.Equal(t, 250*time.Second, r.CheckpointAt.Sub(*r.Start))
	assert.InDelta(t, 250, r.DurationS, 1e-9)
	assert.InDelta(t, 0.35*250/3600*1.58*200, r.EmissionsG, 1e-6)
}
