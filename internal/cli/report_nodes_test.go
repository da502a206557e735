package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

// nodesJob writes the logs of a job of 2 nodes × 4 ranks under base: a
// real tracker per rank in base/<node>/rank<r>, the trackers of a node
// sharing a lease directory, for an hour, on machines of 4 GPUs (100, 200,
// 300, 400 W) and a 50 W CPU: 2.1 kWh of device energy in all.
func nodesJob(t *testing.T, base string) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		var trs []*tracker.Tracker
		for n, node := range []string{"n0", "n1"} {
			leases := t.TempDir()
			for r := range 4 {
				start := time.Now()
				srcs := []power.Source{
					powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 100, start),
					powertest.Constant("gpu:1", power.KindGPU, power.MethodCounter, 200, start),
					powertest.Constant("gpu:2", power.KindGPU, power.MethodCounter, 300, start),
					powertest.Constant("gpu:3", power.KindGPU, power.MethodCounter, 400, start),
					powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
				}
				tr, err := tracker.New(1, tracker.WithSources(srcs), tracker.WithLeaseDir(leases),
					tracker.WithRank(n*4+r, r), tracker.WithNode(node), tracker.WithRunID("job"),
					tracker.WithLogDir(filepath.Join(base, node, fmt.Sprintf("rank%d", n*4+r))),
					tracker.WithVerbose(0), tracker.WithPUE(1), tracker.WithFixedIntensity(100))
				require.NoError(t, err)
				trs = append(trs, tr)
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
}

// report over the logs of every node and rank of a job shows each run's
// node and rank, the devices measured elsewhere, and the job's total once,
// however the directories are given.
func TestReportNodesAndRanks(t *testing.T) {
	base := t.TempDir()
	nodesJob(t, base)
	n0, n1 := filepath.Join(base, "n0"), filepath.Join(base, "n1")

	code, out, stderr := runCLI(t, "report", n0, n1)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(out, "\n")
	assert.Regexp(t, `^RUN\s+NODE\s+RANK\s+FORMAT\s+EPOCHS\s+DURATION\s+FACILITY kWh\s+DEVICE kWh\s+CO2e g\s+BASIS$`, lines[0])
	for rank := range 8 {
		node := fmt.Sprintf("n%d", rank/4)
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(filepath.Join(base, node, fmt.Sprintf("rank%d", rank)))+`/\S+\s+`+node+`\s+`+fmt.Sprint(rank)+
			`\s+carbontrack\s+1/1\s+1:00:00\s+\S+\s+\S+\s+\S+\s+run$`, out, "rank %d", rank)
	}
	total := regexp.MustCompile(`(?m)^TOTAL \(8 runs\)\s+8\s+8:00:00\s+2\.10\s+2\.10\s+210\s+8 run$`)
	assert.Regexp(t, total, out, "2.1 kWh: each device once")
	assert.Contains(t, out, "\nMeasured elsewhere (devices of the run's machine in another run's log; not added again):\n")
	assert.Regexp(t, `(?m)^  \S+ \(node n0, rank 1\): gpu:0 counted by local rank 0; gpu:2 counted by local rank 2; gpu:3 counted by local rank 3`, out)
	assert.Regexp(t, `(?m)^  \S+ \(node n1, rank \d\): .*cpu:0 counted by pid \d+ \(run job, node n1, rank \d\)$`, out)
	assert.NotContains(t, out, "Duplicates skipped")

	// Directories given twice, or a parent and its child: the same total,
	// and a line for each copy skipped.
	for _, tc := range []struct {
		dirs   []string
		copies int
	}{{[]string{n0, n1, n0, n1}, 8}, {[]string{base, n0}, 4}, {[]string{base, base}, 8}} {
		dirs, copies := tc.dirs, tc.copies
		code, out, stderr := runCLI(t, append([]string{"report"}, dirs...)...)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, total, out, "%v: not doubled", dirs)
		assert.Contains(t, out, fmt.Sprintf("\nDuplicates skipped: %d copies of runs' logs found again, not counted (each run counts once):\n", copies), dirs)
		assert.Equal(t, copies, strings.Count(out, " (the same files, found again)\n"), "%v: %s", dirs, out)
	}

	// A copy of a rank's logs collected elsewhere is one too.
	collected := filepath.Join(t.TempDir(), "collected")
	require.NoError(t, os.MkdirAll(collected, 0o755))
	rank5 := filepath.Join(n1, "rank5")
	ents, err := os.ReadDir(rank5)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(rank5, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(collected, e.Name()), b, 0o644))
	}
	code, out, stderr = runCLI(t, "report", base, collected)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, total, out)
	assert.Regexp(t, `(?m)^Duplicates skipped: 1 copy of runs' logs found again`, out)
	assert.Regexp(t, `(?m)^  \S+ \(node n1, rank 5\): also in `+regexp.QuoteMeta(collected)+` \(a copy\)$`, out)

	// --json: the same total, each run's node, rank and devices measured
	// elsewhere, and the copies skipped.
	code, out, stderr = runCLI(t, "report", "--json", base, n1)
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Runs []struct {
			RunID             string `json:"run_id"`
			Node              string `json:"node"`
			Rank              *int   `json:"rank"`
			DeviceEnergyKWh   float64
			MeasuredElsewhere []struct {
				Name, Kind, By string
			} `json:"measured_elsewhere"`
			Duplicates []struct {
				Dir       string `json:"dir"`
				SameFiles bool   `json:"same_files"`
			} `json:"duplicates"`
		} `json:"runs"`
		Total struct {
			Runs              int     `json:"runs"`
			DeviceEnergyKWh   float64 `json:"device_energy_kwh"`
			DuplicatesSkipped int     `json:"duplicates_skipped"`
		} `json:"total"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Runs, 8)
	assert.Equal(t, 8, doc.Total.Runs)
	assert.InDelta(t, 2.1, doc.Total.DeviceEnergyKWh, 1e-9)
	assert.Equal(t, 4, doc.Total.DuplicatesSkipped)
	ranks := map[int]bool{}
	for _, r := range doc.Runs {
		assert.Equal(t, "job", r.RunID)
		require.NotNil(t, r.Rank)
		ranks[*r.Rank] = true
		assert.Equal(t, fmt.Sprintf("n%d", *r.Rank/4), r.Node)
		assert.NotEmpty(t, r.MeasuredElsewhere)
		for _, e := range r.MeasuredElsewhere {
			assert.NotEmpty(t, e.Name)
			assert.NotEmpty(t, e.Kind)
			assert.NotEmpty(t, e.By)
		}
		if r.Node == "n1" {
			require.Len(t, r.Duplicates, 1)
			assert.True(t, r.Duplicates[0].SameFiles)
		} else {
			assert.Empty(t, r.Duplicates)
		}
	}
	assert.Len(t, ranks, 8)

	// --per-epoch names whose each run is.
	code, out, stderr = runCLI(t, "report", "--per-epoch", n0)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^\S+ \(carbontrack, PUE 1, node n0, rank 3\):$`, out)
}
