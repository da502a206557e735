package tracker_test

import (
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
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// cliPowerLogger is the power series as "carbontrack run" wrote it before
// the tracker did (a logger of its own over Status): every 10 s and once
// after Stop, the devices' average power by kind since its previous sample.
// The tracker's series must read the same, so that older runs and newer
// ones compare.
type cliPowerLogger struct {
	t     *tracker.Tracker
	log   *runlog.PowerLog
	st    tracker.Status
	last  time.Time
	lastE map[string]power.Joules
}

func (p *cliPowerLogger) sample() {
	p.t.StatusInto(&p.st)
	from := p.last
	if from.IsZero() {
		from = p.st.Start
	}
	dt := p.st.Time.Sub(from)
	if p.st.Time.IsZero() || dt <= 0 {
		return
	}
	e := map[string]power.Joules{}
	for _, s := range p.st.Sources {
		e[string(s.Info.Kind)] += s.DeviceEnergy
	}
	w := make(map[string]float64, len(e))
	for k, v := range e {
		w[k] = float64(max(v-p.lastE[k], 0)) / dt.Seconds()
	}
	if err := p.log.Add(runlog.PowerPoint{Time: p.st.Time, Interval: dt, Watts: w}); err != nil {
		return
	}
	p.last, p.lastE = p.st.Time, e
}

// steps is a GPU counter whose power changes every 17 s: 100, 250, 400 W...
func steps(start time.Time) *powertest.Source {
	s := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 0, start)
	s.Energy = func(t time.Time) power.Joules {
		var j power.Joules
		for d, w := t.Sub(start), power.Watts(100); d > 0; d, w = d-17*time.Second, w+150 {
			j += w.For(min(d, 17*time.Second))
		}
		return j
	}
	return s
}

// The tracker's power series (WithPowerSeries) is the CLI's, to the byte,
// where the CLI's had all there is: the same file name beside the other
// logs, and the same records, which runlog reads as it read the CLI's. With
// the devices read every 10 s (the checkpoint interval bounds the read
// interval), epoch boundaries on those reads and a constant power-only
// CPU (no range to give), a point per read is a line every 10 s.
func TestPowerSeriesIsTheCLIs(t *testing.T) {
	dir, cliDir := t.TempDir(), t.TempDir()
	var rep tracker.Report
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(3, quiet([]power.Source{steps(time.Now()), cpu("cpu:0", 50)},
			tracker.WithLogDir(dir), tracker.WithPowerSeries(true))...)
		require.NoError(t, err)
		l, err := runlog.CreatePowerLog(filepath.Join(cliDir, "cli"+runlog.SuffixPower))
		require.NoError(t, err)
		cli := &cliPowerLogger{t: tr, log: l, lastE: map[string]power.Joules{}}
		// The CLI samples every 10 s, as the tracker reads both devices:
		// right after each read, both see the same sample.
		for i := 1; i <= 9; i++ {
			time.Sleep(tracker.DefaultCheckpointInterval)
			synctest.Wait()
			cli.sample()
			switch i {
			case 2, 5:
				tr.EpochStart()
			case 4, 7:
				tr.EpochEnd()
			}
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		tr.Stop()
		cli.sample()
		require.NoError(t, l.Close())
		rep = tr.Report()
	})

	require.NotEmpty(t, rep.Files)
	std := rep.Files[0]
	require.True(t, strings.HasSuffix(std, runlog.SuffixStdLog), std)
	// Where the CLI's newPowerLogger put it: the standard log's base name.
	path := strings.TrimSuffix(std, runlog.SuffixStdLog) + runlog.SuffixPower
	assert.Equal(t, path, rep.Files[len(rep.Files)-1], "the power series is the last file")

	mine, err := os.ReadFile(path)
	require.NoError(t, err)
	theirs, err := os.ReadFile(filepath.Join(cliDir, "cli"+runlog.SuffixPower))
	require.NoError(t, err)
	assert.Equal(t, string(theirs), string(mine))
	assert.Equal(t, 10, strings.Count(string(mine), "\n"), "9 reads and Stop")

	want, err := runlog.ReadPower(filepath.Join(cliDir, "cli"+runlog.SuffixPower))
	require.NoError(t, err)
	got, err := runlog.ReadPower(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, want, runs[0].Power, "runlog.Read takes the series beside the run")
	assert.Contains(t, runs[0].Files, path)
	// The steps: 100 W for the first 10 s, 400 W from 34 s to 51 s.
	assert.InDelta(t, 100, got[0].Watts["gpu"], 1e-9)
	assert.InDelta(t, 50, got[0].Watts["cpu"], 1e-9)
	assert.InDelta(t, 400, got[4].Watts["gpu"], 1e-9)
	assert.Equal(t, 4*time.Second, got[len(got)-1].Interval)
}

// Without the option, or without a log directory, there is no power series.
func TestPowerSeriesOffByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 100)}, tracker.WithLogDir(dir))...)
		require.NoError(t, err)
		runEpochs(tr, 1, 30*time.Second)
		tr.Stop()
		for _, f := range tr.Report().Files {
			assert.NotContains(t, f, runlog.SuffixPower)
		}
		m, err := filepath.Glob(filepath.Join(dir, "*"+runlog.SuffixPower))
		require.NoError(t, err)
		assert.Empty(t, m)

		tr, err = tracker.New(1, quiet([]power.Source{gpu("gpu:0", 100)}, tracker.WithPowerSeries(true))...)
		require.NoError(t, err)
		runEpochs(tr, 1, 30*time.Second)
		tr.Stop()
		assert.Empty(t, tr.Report().Files)
	})
}

// twoLevels is a power-only CPU (read at the fast cadence) at 40 W for the
// first half of each 2 s and 60 W for the second.
func twoLevels(start time.Time) *powertest.Source {
	s := powertest.Constant("cpu:0", power.KindCPU, power.MethodSampled, 0, start)
	s.Power = func(t time.Time) power.Watts {
		if t.Sub(start)%(2*time.Second) < time.Second {
			return 40
		}
		return 60
	}
	return s
}

// seriesRun runs a tracker writing the power series over a GPU counter
// (steps) and a power-only CPU (twoLevels), drives it with body, and
// returns the series, each point's end since the start, the series' energy
// and the run's device energy (J).
func seriesRun(t *testing.T, body func(tr *tracker.Tracker)) (pts []runlog.PowerPoint, ends []time.Duration, joules, run float64) {
	dir := t.TempDir()
	var rep tracker.Report
	var start time.Time
	synctest.Test(t, func(t *testing.T) {
		start = time.Now()
		tr, err := tracker.New(2, quiet([]power.Source{steps(start), twoLevels(start)},
			tracker.WithLogDir(dir), tracker.WithPowerSeries(true))...)
		require.NoError(t, err)
		body(tr)
		tr.Stop()
		rep = tr.Report()
	})
	pts, err := runlog.ReadPower(rep.Files[len(rep.Files)-1])
	require.NoError(t, err)
	for _, p := range pts {
		ends = append(ends, p.Time.Sub(start))
		for _, w := range p.Watts {
			joules += w * p.Interval.Seconds()
		}
	}
	for _, s := range rep.Sources {
		run += float64(s.DeviceEnergy)
	}
	return pts, ends, joules, run
}

// A short run's series follows the reads: a 6 s run with two epochs has a
// point at each epoch boundary (a GPU counter is read there), and the
// power-only CPU's fast readings in between give each point its lowest and
// highest power. The series' energy is the run's.
func TestPowerSeriesFollowsTheReads(t *testing.T) {
	pts, ends, joules, run := seriesRun(t, func(tr *tracker.Tracker) {
		time.Sleep(time.Second)
		runEpochs(tr, 2, 2*time.Second)
		time.Sleep(time.Second)
	})
	// The boundaries at 1, 3 and 5 s, and Stop at 6 s.
	assert.Equal(t, []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 6 * time.Second}, ends)
	assert.InEpsilon(t, run, joules, 1e-9)
	require.Len(t, pts, 4)
	assert.InDelta(t, 100, pts[1].Watts["gpu"], 1e-9)
	assert.Empty(t, pts[1].Min["gpu"], "one read of the counter: no range")
	assert.InDelta(t, 40, pts[1].Min["cpu"], 1e-9, "the fast readings' range")
	assert.InDelta(t, 60, pts[1].Max["cpu"], 1e-9)
	assert.InDelta(t, 50, pts[1].Watts["cpu"], 0.5)
}

// Stop right after the last epoch's end leaves a rest of a few
// milliseconds: it joins the last point instead of making a point of its
// own, whose mean power over a moment would be noise.
func TestPowerSeriesShortRestJoinsTheLastPoint(t *testing.T) {
	pts, ends, joules, run := seriesRun(t, func(tr *tracker.Tracker) {
		runEpochs(tr, 2, 2*time.Second)
		time.Sleep(5 * time.Millisecond)
	})
	for _, p := range pts {
		assert.GreaterOrEqual(t, p.Interval, time.Second)
	}
	assert.Equal(t, []time.Duration{2 * time.Second, 4*time.Second + 5*time.Millisecond}, ends)
	assert.InEpsilon(t, run, joules, 1e-9)
}
