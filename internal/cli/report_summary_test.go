package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

// hostileLabel has every character LaTeX and markdown would read as markup.
const hostileLabel = `50% of run_1 & {x}`

// model makes a fake source report a device model.
func model(s *powertest.Source, name string) *powertest.Source {
	s.Desc.Device = name
	return s
}

// uncertain gives s the relative uncertainty u of an estimate.
func uncertain(s *powertest.Source, u float64) *powertest.Source {
	s.Desc.Uncertainty = u
	return s
}

// summaryLogs writes the logs of a job over two nodes into base/n0 and
// base/n1: rank 0 on n0 finished its 2 epochs on two H100s (energy
// counters) and an estimated CPU, with the hostile label, in zone FR,
// reporting tokens; rank 1 on n1, a sampled GPU at a fixed 200 g/kWh, was
// killed in its third epoch of 4 (its JSON lines end at the checkpoint at
// 250 s, the next line cut).
func summaryLogs(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		tr, err := tracker.New(2, tracker.WithSources([]power.Source{
			model(powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start), "NVIDIA H100 80GB HBM3"),
			model(powertest.Constant("gpu:1", power.KindGPU, power.MethodCounter, 300, start), "NVIDIA H100 80GB HBM3"),
			uncertain(model(powertest.Constant("cpu:estimate", power.KindCPU, power.MethodEstimated, 50, start), "AMD EPYC 7763 64-Core Processor"), 0.342),
		}), tracker.WithLogDir(filepath.Join(base, "n0")), tracker.WithVerbose(0), tracker.WithZone("FR"),
			tracker.WithRunLabel(hostileLabel), tracker.WithNode("n0"), tracker.WithRank(0, -1), tracker.WithRunID("job-7"),
			tracker.WithWorkUnit("tokens"), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		time.Sleep(time.Minute) // loading the data
		for range 2 {
			tr.EpochStart()
			time.Sleep(10 * time.Minute)
			tr.EpochEndWork(5e6)
		}
		tr.Stop()
	})
	killed := filepath.Join(base, "n1")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		tr, err := tracker.New(4, tracker.WithSources([]power.Source{
			model(powertest.Constant("gpu:0", power.KindGPU, power.MethodSampled, 250, start), "NVIDIA A100-SXM4-40GB"),
		}), tracker.WithLogDir(killed), tracker.WithVerbose(0), tracker.WithFixedIntensity(200),
			tracker.WithNode("n1"), tracker.WithRank(1, -1), tracker.WithRunID("job-7"), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		for _, d := range []time.Duration{100 * time.Second, 130 * time.Second, 100 * time.Second} {
			tr.EpochStart()
			time.Sleep(d)
			tr.EpochEnd()
		}
		tr.Stop()
	})
	cutAtCheckpoint(t, killed, 250)
	return base
}

// cutAtCheckpoint cuts the JSON lines in dir after the checkpoint at s
// seconds, leaving part of the next line, as a killed run leaves them.
func cutAtCheckpoint(t *testing.T, dir string, s int) {
	t.Helper()
	jsonl, err := filepath.Glob(filepath.Join(dir, "*_carbontrack.jsonl"))
	require.NoError(t, err)
	require.Len(t, jsonl, 1)
	b, err := os.ReadFile(jsonl[0])
	require.NoError(t, err)
	i := strings.Index(string(b), `"type":"checkpoint"`)
	require.Positive(t, i)
	j := strings.Index(string(b[i:]), `"duration_s":`+strconv.Itoa(s)+`,`)
	require.Positive(t, j, "a checkpoint at %d s", s)
	end := i + j + strings.IndexByte(string(b[i+j:]), '\n') + 1
	require.NoError(t, os.WriteFile(jsonl[0], append(b[:end:end], b[end:end+40]...), 0o644))
}

// reRunName matches the base name of a run's logs, which has the test's
// pid: <pid>.<id>_<time>, "_" escaped or not.
var reRunName = regexp.MustCompile(`\d+\.\d+(\\?_)\d{4}-\d\d-\d\dT\d{6}Z`)

// summaryGolden compares got, the run's names made neutral, with
// testdata/report/summary/name, or rewrites it with -update.
func summaryGolden(t *testing.T, name, got string) {
	t.Helper()
	got = reRunName.ReplaceAllString(got, "PID.ID${1}TIME")
	path := filepath.Join("testdata", "report", "summary", name)
	if updatingGolden() {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/cli -run TestReportSummaryGolden -update to create it")
	assert.Equal(t, string(want), got, "golden file %s (rerun with -update if the change is intended)", path)
}

// The summary of a job over two nodes, one run finished and one killed,
// in each format: a paragraph per run and one for the total.
func TestReportSummaryGolden(t *testing.T) {
	base := summaryLogs(t)
	for _, c := range []struct{ format, file string }{
		{"text", "job.txt"}, {"markdown", "job.md"}, {"latex", "job.tex"},
	} {
		t.Run(c.format, func(t *testing.T) {
			code, out, stderr := runCLI(t, "report", "--format", c.format, base)
			require.Equal(t, 0, code, stderr)
			summaryGolden(t, c.file, out)
		})
	}
}

// What the golden files show, said: each run's status, the killed run's
// checkpoint and projection interval, the hardware and its methods, the
// intensity's source, and the total over the nodes.
func TestReportSummaryJob(t *testing.T) {
	base := summaryLogs(t)
	code, out, stderr := runCLI(t, "report", "--format", "text", base)
	require.Equal(t, 0, code, stderr)
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		`Run "50% of run_1 & {x}" (logs `,
		"node n0, rank 0, job job-7) started on 2000-01-01 00:00:00 UTC and ran for 21 min, completing 2 of 2 epochs.",
		"2 × NVIDIA H100 80GB HBM3 (GPU, measured by its energy counter)",
		"1 × AMD EPYC 7763 64-Core Processor (CPU, estimated from the CPU load and TDP)",
		"The CPU figures are estimates from a model, not measurements (CPU estimated ±34 %): with that uncertainty the run's emissions are ",
		"The figures cover the whole machine's devices.",
		"for zone FR, found from WithZone, the 2023 annual average from carbontrack's embedded table (source: Our World in Data",
		"10,000,000 tokens",
		// The killed run: honest about what it counts.
		"the run was killed (or is still running). The figures are up to its last checkpoint at 2000-01-01 00:04:10 UTC, after 4.17 min, when 2 of 4 epochs had completed.",
		"The last projection, for all 4 epochs, was 10.1 g CO2e (95 % interval",
		"1 × NVIDIA A100-SXM4-40GB (GPU, measured by sampling its power)",
		// Its last checkpoint says what the run is, as the final record would.
		"The carbon intensity was 200 gCO2e/kWh (the run's mean), a fixed value given for the run.",
		// The total.
		"In total, the 2 runs ran for 25.2 min together and completed 4 epochs.",
		"This sums 2 runs over 2 nodes, 2 of them ranks of a distributed job",
		"Counted: 1 whole run measured, 1 killed run up to its last checkpoint.",
		"carbontrack " + tracker.Version + ", https://github.com/carbontrack/carbontrack.",
		"Anthony, L. F. W., Kanding, B. and Selvan, R. (2020). Carbontracker: Tracking and Predicting the Carbon Footprint of Training Deep Learning Models. arXiv:2007.03051.",
	} {
		assert.Contains(t, flat, want)
	}
	assert.Equal(t, 1, strings.Count(out, "In total"), "one total paragraph")
	for _, line := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, len([]rune(line)), 80, "wrapped: %q", line)
		assert.NotContains(t, line, nbsp)
	}

	// One run: no total.
	code, out, stderr = runCLI(t, "report", "--format", "text", filepath.Join(base, "n0"))
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, "In total")
}

// A label of several lines (a command line) is one line in the title.
func TestReportSummaryLabelOnOneLine(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{
			powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, time.Now()),
		}), tracker.WithLogDir(dir), tracker.WithVerbose(0), tracker.WithFixedIntensity(100),
			tracker.WithRunLabel("python3 -c 'import time\nwhile True: pass'"))
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(time.Minute)
		tr.EpochEnd()
		tr.Stop()
	})
	code, out, stderr := runCLI(t, "report", "--format", "markdown", dir)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(out, "### Run \"python3 -c 'import time while True: pass'\"\n\n"), out)
	assert.Contains(t, out, "completing 1 of 1 epoch.")
}

// A label with LaTeX's special characters is escaped in the title and the
// prose, and never left raw.
func TestReportSummaryLaTeXEscapesTheLabel(t *testing.T) {
	base := summaryLogs(t)
	code, out, stderr := runCLI(t, "report", "--format", "latex", filepath.Join(base, "n0"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "\\paragraph{Run ``50\\% of run\\_1 \\& \\{x\\}''}\n")
	assert.Contains(t, out, "Run ``50\\% of run\\_1 \\& \\{x\\}'' (logs ")
	assert.NotContains(t, out, hostileLabel)
	assert.Contains(t, out, `\textbf{20.1~g~CO$_2$e}`)
	// Outside the "% cite:" comments, every % is escaped.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "% cite: ") {
			continue
		}
		assert.NotRegexp(t, `(^|[^\\])%`, line)
	}
}

func TestLaTeXEscaping(t *testing.T) {
	for in, want := range map[string]string{
		`50% of run_1 & {x}`:                 `50\% of run\_1 \& \{x\}`,
		`#1 costs $5`:                        `\#1 costs \$5`,
		`a~b^c\d`:                            `a\textasciitilde{}b\textasciicircum{}c\textbackslash{}d`,
		`x > y | z < w`:                      `x \textgreater{} y \textbar{} z \textless{} w`,
		"12.3" + nbsp + "kg" + nbsp + "CO2e": `12.3~kg~CO$_2$e`,
		"95 % interval 1–2":                  `95~\% interval 1--2`,
		"2 × A100":                           `2 $\times$ A100`,
		"found from --zone, a---b":           `found from -{}-zone, a-{}-{}-b`,
	} {
		assert.Equal(t, want, latex(in), in)
	}
}

func TestMarkdownEscaping(t *testing.T) {
	var b strings.Builder
	writeMarkdown(&b, para{title: "Run *x*", body: []piece{{text: "a_b [c] "}, {text: "1" + nbsp + "Wh", bold: true}}, sources: []string{"s <1>"}})
	assert.Equal(t, "### Run \\*x\\*\n\na\\_b \\[c\\] **1 Wh**\n\nSources:\n\n- s \\<1\\>\n", b.String())
	b.Reset()
	writeMarkdown(&b, para{title: "Run x", body: []piece{{text: "a\nb"}}})
	assert.Equal(t, "### Run x\n\na b\n", b.String(), "a line break in data stays in the paragraph")
}

// carbontracker's own logs have less: what they lack is said to be not
// recorded, never invented.
func TestReportSummaryCarbontrackerPairs(t *testing.T) {
	code, out, stderr := runCLI(t, "report", "--format", "markdown", ctFixture)
	require.Equal(t, 0, code, stderr)
	summaryGolden(t, "carbontracker.md", out)
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"(the log's local time) and completed 3 of 3 epochs. The figures are carbontracker's actual consumption: the 3 completed epochs (30 min), not the time outside them.",
		"It used **491 Wh** of facility energy (PUE 1.58 included; the devices' energy before PUE is not recorded)",
		"The components measured were GPU and CPU; the device models, their counts and how each was measured are not recorded.",
		"Whether the figures cover the whole machine or one process's share is not recorded.",
		"the zone and the intensity's source are not recorded in a form carbontrack reads",
		"Measured with carbontracker 2.0.0 (Anthony, Kanding and Selvan, 2020, arXiv:2007.03051); read with carbontrack " + tracker.Version,
		// The killed one: a projection, without an interval in the log.
		"but its log ends after 2 of 10 epochs without the actual consumption: the run was killed (or is still running). The figures are carbontracker's projection for all 10 epochs (5.04 h), not a measurement.",
		"emitted **426 g CO2e** (no interval recorded)",
		"was stopped early after 2 of 5 epochs",
		"This sums 3 runs, each counted once; their machines are not recorded.",
		"- carbontracker 2.0.0, https://github.com/lfwa/carbontracker.",
	} {
		assert.Contains(t, flat, want)
	}
}

// A run that failed before its first epoch ended says so.
func TestReportSummaryFailedRun(t *testing.T) {
	dir := t.TempDir()
	trackerLogs(t, dir, 5, func(*tracker.Tracker) { time.Sleep(4 * time.Minute) })
	code, out, stderr := runCLI(t, "report", "--format", "text", dir)
	require.Equal(t, 0, code, stderr)
	flat := strings.Join(strings.Fields(out), " ")
	assert.Contains(t, flat, "ran for 4 min and ended without completing an epoch (of 5 announced): it failed or was stopped early. "+
		"The figures cover everything it drew until then. It used 36.9 Wh of facility energy (the devices' 23.3 Wh × a PUE of 1.58) and emitted 7.37 g CO2e.")
	assert.Contains(t, flat, "a fixed value given for the run")
}

func TestReportSummaryUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--format", "pdf", ctFixture}, `--format "pdf": use table, text, markdown or latex`},
		{[]string{"report", "--json", "--format", "latex", ctFixture}, `--json and --format "latex": choose one`},
	} {
		code, out, stderr := runCLI(t, c.args...)
		assert.Equal(t, 2, code, c.args)
		assert.Empty(t, out)
		assert.Contains(t, stderr, c.want)
	}
	t.Setenv("CARBONTRACK_REPORT_FORMAT", "pdf")
	code, _, stderr := runCLI(t, "report", ctFixture)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "CARBONTRACK_REPORT_FORMAT")
}

func TestSummaryTimes(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 5, 0, time.UTC)
	assert.Equal(t, "2025-03-01 12:00:05 UTC", when(at))
	assert.Equal(t, "2025-03-01 14:00:05 UTC+02:00", when(at.In(time.FixedZone("", 2*3600))))
	assert.Equal(t, "2025-03-01 12:00:05 (the log's local time)", when(time.Date(2025, 3, 1, 12, 0, 5, 0, time.Local)))
}

// A figure and its unit stay on one line; markdown's other markup is
// escaped too.
func TestSummaryKeepsUnitsAndEscapes(t *testing.T) {
	assert.Equal(t, "aaaaaaaaa bbbbbbbbb\n12.3 kWh", wrapText("aaaaaaaaa bbbbbbbbb 12.3"+nbsp+"kWh", 25, ""))
	assert.Equal(t, `\~\~x\~\~ \&lt; \$5`, markdownEscaper.Replace("~~x~~ &lt; $5"))
}
