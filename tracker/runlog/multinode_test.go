package runlog_test

import (
	"fmt"
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
	"github.com/carbontrack/carbontrack/tracker/runlog/internal/runlogtest"
)

// jobNodes are the machines of the simulated job; each has jobRanks ranks.
var jobNodes = []string{"n0", "n1"}

const jobRanks = 4

// jobTruthKWh is the job's device energy: on each node, GPUs of 100, 200,
// 300 and 400 W and a 50 W CPU for an hour.
const jobTruthKWh = 2 * (100 + 200 + 300 + 400 + 50) / 1000.0

// machine returns a node's sources as each of its trackers sees them: every
// GPU of the machine and its CPU.
func machine(start time.Time) []power.Source {
	return []power.Source{
		powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 100, start),
		powertest.Constant("gpu:1", power.KindGPU, power.MethodCounter, 200, start),
		powertest.Constant("gpu:2", power.KindGPU, power.MethodCounter, 300, start),
		powertest.Constant("gpu:3", power.KindGPU, power.MethodCounter, 400, start),
		powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
	}
}

// jobLogs runs the job: 2 nodes × 4 ranks, a real tracker per rank writing
// into base/<node>/rank<r>, the trackers of a node sharing a lease
// directory, for one (synthetic) hour. It returns the rank directories.
func jobLogs(t *testing.T, base string) []string {
	t.Helper()
	var dirs []string
	synctest.Test(t, func(t *testing.T) {
		var trs []*tracker.Tracker
		for n, node := range jobNodes {
			leases := t.TempDir()
			for r := range jobRanks {
				dir := filepath.Join(base, node, fmt.Sprintf("rank%d", n*jobRanks+r))
				tr, err := tracker.New(1, tracker.WithSources(machine(time.Now())), tracker.WithLeaseDir(leases),
					tracker.WithRank(n*jobRanks+r, r), tracker.WithNode(node), tracker.WithRunID("job"),
					tracker.WithLogDir(dir), tracker.WithVerbose(0), tracker.WithPUE(1), tracker.WithFixedIntensity(100))
				require.NoError(t, err)
				trs = append(trs, tr)
				dirs = append(dirs, dir)
			}
		}
		for _, tr := range trs {
			tr.EpochStart()
		}
		time.Sleep(time.Hour)
		for _, tr := range trs {
			tr.EpochEnd()
			tr.Stop()
		}
	})
	return dirs
}

func deviceKWh(t *testing.T, runs []runlog.Run) float64 {
	t.Helper()
	total := runlog.Sum(runs)
	require.True(t, total.Used.DeviceKnown)
	return total.Used.DeviceKWh
}

// The logs of every rank of every node add up to the job's energy, each
// device once: not 4× (every rank counting its machine) nor 8×.
func TestReadMultiNodeJobAddsUpOnce(t *testing.T) {
	base := t.TempDir()
	dirs := jobLogs(t, base)
	runs, err := runlog.Read(dirs...)
	require.NoError(t, err)
	require.Len(t, runs, len(jobNodes)*jobRanks)
	assert.InDelta(t, jobTruthKWh, deviceKWh(t, runs), 1e-9, "the job's truth")
	total := runlog.Sum(runs)
	assert.Equal(t, 8, total.WholeRun)
	assert.Zero(t, total.Duplicates)
	assert.InDelta(t, jobTruthKWh*100, total.Used.Grams, 1e-6, "100 g/kWh, PUE 1")

	byNode := map[string]float64{}
	cpus := map[string]int{}
	seen := map[int]bool{}
	for _, r := range runs {
		assert.Equal(t, "job", r.RunID)
		require.Contains(t, jobNodes, r.Node)
		n := 0
		if r.Node == "n1" {
			n = 1
		}
		require.GreaterOrEqual(t, r.Rank, n*jobRanks, r.Name)
		require.Less(t, r.Rank, (n+1)*jobRanks, r.Name)
		assert.False(t, seen[r.Rank], "rank %d once", r.Rank)
		seen[r.Rank] = true
		assert.Equal(t, filepath.Join(base, r.Node, fmt.Sprintf("rank%d", r.Rank)), r.Dir)
		assert.Empty(t, r.SharingNote)
		assert.Empty(t, r.Duplicates)
		byNode[r.Node] += r.Used.DeviceKWh

		// Its own GPU, perhaps the CPU; the rest is measured elsewhere.
		local := r.Rank - n*jobRanks
		own := 0.1 * float64(local+1)
		elsewhere := map[string]string{}
		for _, e := range r.MeasuredElsewhere {
			elsewhere[e.Name] = e.By
		}
		assert.NotContains(t, elsewhere, fmt.Sprintf("gpu:%d", local), "rank %d counts its GPU", r.Rank)
		if by, ok := elsewhere["cpu:0"]; ok {
			assert.InDelta(t, own, r.Used.DeviceKWh, 1e-9, "rank %d", r.Rank)
			assert.Contains(t, by, "node "+r.Node, "the CPU is counted on the same node")
			assert.Len(t, r.MeasuredElsewhere, 4)
		} else {
			cpus[r.Node]++
			assert.InDelta(t, own+0.05, r.Used.DeviceKWh, 1e-9, "rank %d and the CPU", r.Rank)
			assert.Len(t, r.MeasuredElsewhere, 3)
		}
		for _, e := range r.MeasuredElsewhere {
			assert.NotEmpty(t, e.Kind)
			assert.NotEmpty(t, e.By)
		}
	}
	assert.Len(t, seen, 8)
	for _, node := range jobNodes {
		assert.InDelta(t, 1.05, byNode[node], 1e-9, "node %s: the machine once", node)
		assert.Equal(t, 1, cpus[node], "node %s: the CPU once", node)
	}
}

// The same logs found more than once count once: directories given twice,
// a parent and its child, a link, a copy; two runs of one base name on
// different nodes both count.
func TestReadSameLogsTwiceCountsOnce(t *testing.T) {
	base := t.TempDir()
	jobLogs(t, base)
	n0, n1 := filepath.Join(base, "n0"), filepath.Join(base, "n1")

	check := func(name string, want int, dirs ...string) []runlog.Run {
		t.Helper()
		runs, err := runlog.Read(dirs...)
		require.NoError(t, err, name)
		require.Len(t, runs, 8, name)
		assert.InDelta(t, jobTruthKWh, deviceKWh(t, runs), 1e-9, "%s: the job once", name)
		assert.Equal(t, want, runlog.Sum(runs).Duplicates, name)
		for _, r := range runs {
			assert.NotEmpty(t, r.Node, name)
			assert.GreaterOrEqual(t, r.Rank, 0, name)
		}
		return runs
	}
	check("node dirs", 0, n0, n1)
	check("node dirs twice", 8, n0, n1, n0, n1)
	runs := check("base and a node", 4, base, n0)
	for _, r := range runs {
		if r.Node != "n0" {
			assert.Empty(t, r.Duplicates)
			continue
		}
		require.Len(t, r.Duplicates, 1)
		d := r.Duplicates[0]
		assert.True(t, d.SameFiles)
		assert.Equal(t, r.Dir, d.Dir)
		assert.Equal(t, r.Files, d.Files)
	}
	check("base, twice, and a rank", 9, base, base, filepath.Join(n1, "rank5"))

	// A link to a directory is read, and is the same files.
	links := t.TempDir()
	link := filepath.Join(links, "n1")
	require.NoError(t, os.Symlink(n1, link))
	alone, err := runlog.Read(link)
	require.NoError(t, err)
	require.Len(t, alone, 4)
	assert.Equal(t, filepath.Join(link, "rank4"), alone[0].Dir, "named as reached")
	runs = check("a link", 4, base, link)
	for _, r := range runs {
		for _, d := range r.Duplicates {
			assert.True(t, d.SameFiles)
			assert.True(t, strings.HasPrefix(d.Dir, link), d.Dir)
		}
	}

	// A copy of a rank's logs elsewhere (collected twice) is a copy.
	rank0 := filepath.Join(n0, "rank0")
	copied := filepath.Join(t.TempDir(), "collected")
	copyDir(t, rank0, copied)
	runs = check("a copy", 1, copied, base)
	for _, r := range runs {
		if len(r.Duplicates) > 0 {
			assert.Equal(t, 0, r.Rank)
			assert.Equal(t, copied, r.Dir, "the first found of equal copies")
			assert.Equal(t, []runlog.Duplicate{{Dir: rank0, Files: filesIn(t, rank0), SameFiles: false}}, r.Duplicates)
		}
	}

	// A copy of the log pair only (no node known) is a copy too; an
	// earlier copy of the JSON lines, taken while the run went on, loses
	// to the finished run.
	partial := t.TempDir()
	for _, f := range filesIn(t, rank0) {
		switch {
		case strings.HasSuffix(f, runlog.SuffixJSONLines):
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			i := strings.Index(string(b), `"type":"final"`)
			require.Positive(t, i)
			i = strings.LastIndexByte(string(b[:i]), '\n') + 1
			runlogtest.Write(t, filepath.Join(partial, "running"), filepath.Base(f), string(b[:i]))
		case strings.HasSuffix(f, runlog.SuffixStdLog), strings.HasSuffix(f, runlog.SuffixOutputLog):
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			runlogtest.Write(t, filepath.Join(partial, "pair"), filepath.Base(f), string(b))
		}
	}
	runs = check("partial copies", 2, partial, base)
	for _, r := range runs {
		if r.Rank == 0 {
			assert.Equal(t, rank0, r.Dir, "the finished run is kept")
			assert.True(t, r.Finished)
			require.Len(t, r.Duplicates, 2)
		}
	}

	// The same base name on another node is another run.
	other := t.TempDir()
	for _, f := range filesIn(t, rank0) {
		if strings.HasSuffix(f, runlog.SuffixJSONLines) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			require.Contains(t, string(b), `"node":"n0"`)
			runlogtest.Write(t, other, filepath.Base(f), strings.ReplaceAll(string(b), `"node":"n0"`, `"node":"n9"`))
		}
	}
	runs, err = runlog.Read(base, other)
	require.NoError(t, err)
	require.Len(t, runs, 9)
	assert.Zero(t, runlog.Sum(runs).Duplicates)
	names := map[string][]string{}
	for _, r := range runs {
		names[r.Name] = append(names[r.Name], r.Node)
	}
	assert.Contains(t, names, filepath.Base(strings.TrimSuffix(filesIn(t, other)[0], runlog.SuffixJSONLines)))
	for name, nodes := range names {
		if len(nodes) > 1 {
			assert.ElementsMatch(t, []string{"n0", "n9"}, nodes, name)
		}
	}
}

// Logs written before the identity fields read as before: no run id, no
// node, rank -1, nothing measured elsewhere.
func TestReadWithoutIdentity(t *testing.T) {
	dir := t.TempDir()
	runlogtest.Write(t, dir, "11.1_2025-03-01T120000Z"+runlog.SuffixJSONLines,
		`{"type":"final","duration_s":3600,"device_energy_kwh":0.5,"facility_energy_kwh":0.5,"emissions_g":50,"epochs":1,"completed_epochs":1,"pue":1,`+
			`"in_epochs":{"duration_s":3600,"device_energy_kwh":0.5,"facility_energy_kwh":0.5,"emissions_g":50}}`+"\n")
	runlogtest.Write(t, dir, "other/11.1_2025-03-01T120000Z"+runlog.SuffixJSONLines,
		`{"run_id":"j","node":"a","rank":3,"type":"checkpoint","at":"2025-03-01T12:00:10Z","duration_s":10,"device_energy_kwh":0.1,"facility_energy_kwh":0.1,"emissions_g":10,"completed_epochs":0}`+"\n"+
			`{"run_id":"j","node":"a","rank":3,"type":"final","duration_s":3600,"device_energy_kwh":0.5,"facility_energy_kwh":0.5,"emissions_g":50,"epochs":1,"completed_epochs":1,"pue":1,`+
			`"in_epochs":{"duration_s":3600,"device_energy_kwh":0.5,"facility_energy_kwh":0.5,"emissions_g":50},`+
			`"measured_elsewhere":[{"name":"gpu:1","kind":"gpu","by":"local rank 1"}],"sharing_note":"no leases"}`+"\n")
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1, "an old log and a new one of the same name: a copy (the node is unknown in one)")
	r := runs[0]
	assert.Equal(t, filepath.Join(dir, "other"), r.Dir, "the copy that says whose run it is")
	assert.Equal(t, "j", r.RunID)
	assert.Equal(t, "a", r.Node)
	assert.Equal(t, 3, r.Rank)
	assert.Equal(t, []runlog.Elsewhere{{Name: "gpu:1", Kind: "gpu", By: "local rank 1"}}, r.MeasuredElsewhere)
	assert.Equal(t, "no leases", r.SharingNote)
	require.Len(t, r.Duplicates, 1)
	assert.Equal(t, dir, r.Duplicates[0].Dir)

	require.NoError(t, os.RemoveAll(filepath.Join(dir, "other")))
	runs, err = runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r = runs[0]
	assert.Empty(t, r.RunID)
	assert.Empty(t, r.Node)
	assert.Equal(t, -1, r.Rank)
	assert.Empty(t, r.MeasuredElsewhere)
	assert.Empty(t, r.SharingNote)
	assert.InDelta(t, 0.5, r.Used.DeviceKWh, 1e-12)

	// carbontracker's pairs: no rank either.
	pair := t.TempDir()
	runlogtest.Write(t, pair, "41237.582913_2024-03-05T140211Z"+runlog.SuffixStdLog, runlogtest.CTStd)
	runlogtest.Write(t, pair, "41237.582913_2024-03-05T140211Z"+runlog.SuffixOutputLog, runlogtest.CTOut)
	runs, err = runlog.Read(pair)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, -1, runs[0].Rank)
	assert.Empty(t, runs[0].Node)
}

// copyDir copies the files of dir into to.
func copyDir(t *testing.T, dir, to string) {
	t.Helper()
	for _, f := range filesIn(t, dir) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		runlogtest.Write(t, to, filepath.Base(f), string(b))
	}
}

// filesIn returns the log files of dir, sorted.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.Contains(e.Name(), "_carbontrack") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}
