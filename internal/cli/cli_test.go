package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
)

// A bad flag used to print the whole help (121 lines for run) after the
// error: now the error in one line, and where the help is.
func TestBadFlagIsOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--bogus", "--", "true"},
		{"run", "--interval", "abc", "--", "true"},
		{"run", "--json=maybe", "--", "true"},
		{"devices", "--bogus"},
		{"devices", "--interval", "abc"},
		{"intensity", "--bogus"},
		{"intensity", "--timeout", "abc"},
		{"estimate", "--bogus"},
		{"estimate", "--hours", "abc", "--watts", "1"},
		{"report", "--bogus"},
		{"report", "some-dir", "--plot"},
		{"serve", "--bogus"},
		{"serve", "--interval", "abc"},
	} {
		code, out, stderr := runCLI(t, args...)
		assert.Equal(t, 2, code, "%v: %s", args, stderr)
		assert.Empty(t, out, args)
		want := fmt.Sprintf("see 'carbontrack %s --help'", args[0])
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		require.Len(t, lines, 2, "%v: %q", args, stderr)
		assert.True(t, strings.HasPrefix(lines[0], "carbontrack "+args[0]+": "), "%v: %q", args, lines[0])
		assert.Equal(t, want, lines[1], args)
		assert.NotContains(t, stderr, "Usage:", args)
	}
	// -h and --help still print the whole help, and exit 0.
	for _, name := range []string{"run", "devices", "intensity", "estimate", "report", "serve"} {
		for _, h := range []string{"-h", "--help"} {
			code, _, stderr := runCLI(t, name, h)
			assert.Equal(t, 0, code, name, h)
			assert.Contains(t, stderr, "Usage: carbontrack "+name, name, h)
			assert.Contains(t, stderr, "Examples:", name, h)
			assert.Greater(t, strings.Count(stderr, "\n"), 20, name, h)
		}
	}
	code, out, stderr := runCLI(t, "--bogus")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "carbontrack: unknown flag \"--bogus\"\nsee 'carbontrack --help'\n", stderr)
}

// "carbontrack help run" used to print the top-level help.
func TestHelpCommand(t *testing.T) {
	for _, c := range commands() {
		code, out, stderr := runCLI(t, "help", c.name)
		assert.Equal(t, 0, code, c.name)
		assert.Empty(t, stderr, c.name)
		assert.True(t, strings.HasPrefix(out, "Usage: carbontrack "+c.name), "%s: %.80q", c.name, out)
		assert.Contains(t, out, "Flags:", c.name)
		_, _, direct := runCLI(t, c.name, "--help")
		assert.Equal(t, direct, out, "help %s is %s --help", c.name, c.name)
	}
	code, out, stderr := runCLI(t, "help", "nope")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, `carbontrack help: unknown command "nope"`)
	code, _, _ = runCLI(t, "help", "run", "devices")
	assert.Equal(t, 2, code)
	code, out, _ = runCLI(t, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "version")
}

func TestVersion(t *testing.T) {
	// In process, the commands have every feature: carbontrack-full.
	want := fmt.Sprintf("carbontrack-full %s (%s %s/%s)\n", tracker.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, args := range [][]string{{"--version"}, {"version"}, {"-version"}} {
		code, out, stderr := runCLI(t, args...)
		assert.Equal(t, 0, code, args)
		assert.Equal(t, want, out, args)
		assert.Empty(t, stderr, args)
	}
	code, _, _ := runCLI(t, "version", "extra")
	assert.Equal(t, 2, code)
}

// libraryWords are what a message of the command must not say: the
// library's package prefixes and its Go options.
var libraryWords = regexp.MustCompile(`(^|[:(;] )(tracker|factor|estimate|runlog|power|promexport|sampler|for zone): |With[A-Z][a-z]|promexport\.|carbontrack --allow-public`)

func TestCLIText(t *testing.T) {
	for _, tc := range []struct{ cmd, in, want string }{
		{"", "estimate: estimate: factor: unknown zone: \"XX\"", `unknown zone: "XX"`},
		{"", "tracker: factor: for zone: not supported: no live provider for \"gcp:x\"; use the embedded tables (no WithLive)",
			`not supported: no live provider for "gcp:x"; use the embedded tables (--provider static)`},
		{"", "factor: electricitymaps: no API token: set CARBONTRACK_ELECTRICITYMAPS_TOKEN or use WithToken",
			"electricitymaps: no API token: set CARBONTRACK_ELECTRICITYMAPS_TOKEN"},
		{"", "rapl: power: rapl: no powercap zones", "rapl: no powercap zones"},
		{"", "runlog: lstat /x: no such file", "lstat /x: no such file"},
		{"", "cannot measure (nvml: power: nvml: Init: ERROR; rapl: power: rapl: none)", "cannot measure (nvml: Init: ERROR; rapl: none)"},
		{"serve", "promexport: not a loopback address: allow it explicitly: carbontrack --allow-public (env CARBONTRACK_ALLOW_PUBLIC=1), promexport.WithAllowPublic(true) in Go",
			"not a loopback address: allow it explicitly: carbontrack serve --allow-public (env CARBONTRACK_ALLOW_PUBLIC=1)"},
		// Words that are not prefixes stay.
		{"", "GPU power: 300 W; the estimate: fine", "GPU power: 300 W; the estimate: fine"},
	} {
		assert.Equal(t, tc.want, cliText(tc.cmd, tc.in), tc.in)
	}
}

// The command's messages used to stutter ("carbontrack estimate: estimate:
// factor: ...") and give Go advice ("or use WithToken",
// "promexport.WithAllowPublic(true)", "carbontrack --allow-public").
func TestMessagesSayNoLibraryWords(t *testing.T) {
	t.Setenv("CARBONTRACK_ELECTRICITYMAPS_TOKEN", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"intensity", "--provider", "electricitymaps", "--zone", "FR"}, "set CARBONTRACK_ELECTRICITYMAPS_TOKEN"},
		{[]string{"intensity", "--provider", "live", "--zone", "FR"}, "set CARBONTRACK_ELECTRICITYMAPS_TOKEN"},
		{[]string{"intensity", "--provider", "live", "--zone", "gcp:europe-west4"}, "--provider static"},
		{[]string{"intensity", "--zone", "Atlantis"}, "unknown zone"},
		{[]string{"run", "--provider", "electricitymaps", "--zone", "DE", "--", "true"}, "set CARBONTRACK_ELECTRICITYMAPS_TOKEN"},
		{[]string{"run", "--provider", "live", "--zone", "gcp:europe-west4", "--", "true"}, "--provider static"},
		{[]string{"run", "--metrics-addr", "0.0.0.0:9464", "--", "true"}, "carbontrack run --allow-public"},
		{[]string{"serve", "--metrics-addr", ":9464"}, "carbontrack serve --allow-public"},
		{[]string{"estimate", "--watts", "100", "--hours", "1", "--zone", "Atlantis"}, "unknown zone"},
		{[]string{"estimate", "--watts", "100", "--hours", "1", "--compare-zones", "FR,Atlantis"}, "unknown zone"},
		{[]string{"estimate", "--device", "h100", "--hours", "1", "--utilization", "1.5"}, "utilization must be"},
		{[]string{"report", t.TempDir() + "/none"}, "no such file"},
		{[]string{"report", t.TempDir()}, "no carbontrack or carbontracker logs"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		assert.NotEqual(t, 0, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
		for _, line := range strings.Split(stderr, "\n") {
			_, msg, _ := strings.Cut(line, ": ") // after "carbontrack CMD: "
			assert.NotRegexp(t, libraryWords, msg, "%v: %s", tc.args, line)
			assert.Equal(t, cliText("", msg), msg, "%v: nothing left to clean, no stutter", tc.args)
		}
	}
}

// Floats in the JSON documents used to carry their binary noise
// (483.18000000000006).
func TestRoundJSONNumbers(t *testing.T) {
	v := map[string]any{
		"noise":   483.18000000000006,
		"sum":     0.1 + 0.2,
		"neg":     -15.329999999999998,
		"tiny":    1.2345678901234567e-9,
		"huge":    1.2345678901234567e22,
		"int":     int64(math.MaxInt64),
		"whole":   483.0,
		"zero":    0.0,
		"text":    `a "quoted" 0.30000000000000004 \ and 1e5`,
		"list":    []float64{1.0000000000000002, 2.5},
		"nested":  map[string]float64{"w": 120.13999999999999},
		"pointer": (*float64)(nil),
		"max":     math.MaxFloat64, // rounds up past the largest float: kept as it is
	}
	b, err := json.Marshal(roundedJSON{v})
	require.NoError(t, err)
	var got map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	require.NoError(t, d.Decode(&got), string(b))
	num := func(k string) string { return got[k].(json.Number).String() }
	assert.Equal(t, "483.18", num("noise"))
	assert.Equal(t, "1.7976931348623157e+308", num("max"))
	assert.Equal(t, "0.3", num("sum"))
	assert.Equal(t, "-15.33", num("neg"))
	assert.Equal(t, "1.23456789012346e-9", num("tiny"))
	assert.Equal(t, "1.23456789012346e+22", num("huge"))
	assert.Equal(t, "9223372036854775807", num("int"), "integers are left as they are")
	assert.Equal(t, "483", num("whole"))
	assert.Equal(t, "0", num("zero"))
	assert.Equal(t, v["text"], got["text"], "strings are left as they are")
	assert.Equal(t, []any{json.Number("1"), json.Number("2.5")}, got["list"])
	assert.Equal(t, map[string]any{"w": json.Number("120.14")}, got["nested"])
	assert.Nil(t, got["pointer"])
	for _, f := range []float64{math.Pi, 1 / 3.0, 24.468158662138517, 0.16460893800095003, 1e-300, -7.5e15} {
		var back float64
		b, err := json.Marshal(roundedJSON{f})
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &back))
		assert.InEpsilon(t, f, back, 1e-15, string(b))
	}
	// Indented as before.
	var buf bytes.Buffer
	require.NoError(t, encodeJSON(&buf, map[string]float64{"a": 0.1 + 0.2}))
	assert.Equal(t, "{\n  \"a\": 0.3\n}\n", buf.String())
}

// longFloat is a number written with more than 15 significant digits.
var longFloat = regexp.MustCompile(`[-:\[,]\s*-?(0\.0*)?[1-9][0-9.]{16,}`)

func TestJSONOutputsHaveNoFloatNoise(t *testing.T) {
	code, out, stderr := runCLI(t, "estimate", "--device", "h100", "--count", "3", "--hours", "7.3", "--json")
	require.Equal(t, 0, code, stderr)
	assert.NotRegexp(t, longFloat, out)
	var doc estimateJSON
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	// 3 × 700 W × 7.3 h = 15.33 kWh of IT energy (15.329999999999998 before).
	assert.Equal(t, 15.33, doc.ITEnergyKWh)
	assert.InEpsilon(t, 15.33*doc.PUE*doc.IntensityGPerKWh/1000, doc.EmissionsKg, 1e-9)

	code, out, stderr = runCLI(t, "estimate", "--device", "h100", "--count", "3", "--hours", "7.3", "--compare-zones", "FR,DE,US", "--json")
	require.Equal(t, 0, code, stderr)
	assert.NotRegexp(t, longFloat, out)

	code, out, stderr = runCLI(t, "report", "--json", ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.NotRegexp(t, longFloat, out)
	var rep reportJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	var sum float64
	for _, r := range rep.Runs {
		sum += r.EmissionsG
	}
	assert.InEpsilon(t, rep.Total.EmissionsG, sum, 1e-9, "the total is the sum of the runs")

	code, out, stderr = runCLI(t, "intensity", "--zone", "FR", "--json")
	require.Equal(t, 0, code, stderr)
	assert.NotRegexp(t, longFloat, out)

	sysfs := fakeMachine(t)
	drawPower(t, sysfs, "intel-rapl:0", 33.3)
	code, out, stderr = runCLI(t, "devices", "--json", "--sysfs-root", sysfs, "--measure", "300ms", "--interval", "30ms")
	require.Equal(t, 0, code, stderr)
	assert.NotRegexp(t, longFloat, out)
}

// At 80 columns the status line used to end in "| p": the projection was
// cut off. Now the parts of less use give way first.
func TestStatusLineFitsTheTerminal(t *testing.T) {
	began := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := began.Add(12*time.Hour + 34*time.Minute + 56*time.Second)
	st := &tracker.Status{Epochs: 100, Started: 12, Grams: 59.4, FacilityEnergy: 123 * 3.6e6 / 1000,
		HasProjection: true, Projection: tracker.Projection{Grams: 1234}}
	for _, s := range []struct {
		kind power.Kind
		w    power.Watts
	}{{power.KindGPU, 1234}, {power.KindCPU, 123}, {power.KindDRAM, 12}} {
		st.Sources = append(st.Sources, tracker.SourceStatus{Info: power.Info{Kind: s.kind}, Power: s.w})
	}
	st.Power = 1234 + 123 + 12
	st.PowerByKind = tracker.PowerComponents{GPU: 1234, CPU: 123, DRAM: 12}
	st.Kinds = tracker.KindSet{GPU: true, CPU: true, DRAM: true}
	full := statusLine(st, began, now, 0)
	assert.Equal(t, "carbontrack 12:34:56 epoch 12/100 | gpu 1234 W cpu 123 W dram 12 W | 123 Wh 59.4 g CO2e | projected 1234 g", full)
	assert.Equal(t, full, statusLine(st, began, now, 200), "a wide terminal has it all")
	c := newConsole(io.Discard, io.Discard, false, true, true, 80)
	assert.NotContains(t, c.fit(full), "1234 g", "cutting the full line loses the projection")

	for _, tc := range []struct {
		width int
		want  string
	}{
		{80, "carbontrack 12:34:56 epoch 12/100 | 1369 W | 123 Wh 59.4 g CO2e | proj 1234 g"},
		{60, "carbontrack 12:34:56 epoch 12/100 | 59.4 g | proj 1234 g"},
		{40, "12:34:56 | 59.4 g | proj 1234 g"},
	} {
		line := statusLine(st, began, now, tc.width)
		assert.Equal(t, tc.want, line, tc.width)
		assert.Contains(t, line, "proj 1234 g", tc.width)
		assert.Contains(t, line, "59.4 g", tc.width)
		assert.Contains(t, line, "12:34:56", tc.width)
		assert.Less(t, len(line), tc.width, "the last column stays free")
		c := newConsole(io.Discard, io.Discard, false, true, true, tc.width)
		assert.Equal(t, line, c.fit(line), "nothing is cut")
	}
	// Without a projection or devices, the short line is untouched.
	st.HasProjection, st.Sources, st.Kinds, st.Power = false, nil, tracker.KindSet{}, 0
	assert.Equal(t, "carbontrack 12:34:56 epoch 12/100 | 123 Wh 59.4 g CO2e", statusLine(st, began, now, 80))
}

// The environment twins used to be read four ways: CARBONTRACK_INTERVAL=abc
// was ignored by devices and an error for run; "yes" was true for devices
// and an error for run. Now every subcommand reads them alike.
func TestEnvTwinsAlike(t *testing.T) {
	sysfs := fakeMachine(t)
	t.Setenv("CARBONTRACK_INTERVAL", "abc")
	for _, args := range [][]string{
		{"devices", "--sysfs-root", sysfs},
		{"serve", "--sysfs-root", sysfs},
		{"run", "--sysfs-root", sysfs, "--", "true"},
	} {
		code, out, stderr := runCLI(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Empty(t, out, args)
		assert.Contains(t, stderr, "carbontrack "+args[0]+`: CARBONTRACK_INTERVAL="abc": invalid value for --interval: `, args)
	}
	// The command line wins over its twin, even a bad one.
	code, _, stderr := runCLI(t, "devices", "--sysfs-root", sysfs, "--interval", "1s")
	assert.Equal(t, 0, code, stderr)
	t.Setenv("CARBONTRACK_INTERVAL", "0s")
	code, _, stderr = runCLI(t, "devices", "--sysfs-root", sysfs)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "CARBONTRACK_INTERVAL (--interval) must be positive")
	t.Setenv("CARBONTRACK_INTERVAL", "")

	t.Setenv("CARBONTRACK_GPU_POWER_SAMPLING", "maybe")
	for _, args := range [][]string{
		{"devices", "--sysfs-root", sysfs},
		{"serve", "--sysfs-root", sysfs},
		{"run", "--sysfs-root", sysfs, "--", "true"},
	} {
		code, _, stderr := runCLI(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Contains(t, stderr, `CARBONTRACK_GPU_POWER_SAMPLING="maybe": invalid value for --gpu-power-sampling: want 1, 0, true, false, yes, no, on or off`, args)
	}
	for _, v := range []string{"1", "true", "TRUE", "yes", "Yes", "on", "0", "false", "no", "off", "OFF"} {
		t.Setenv("CARBONTRACK_GPU_POWER_SAMPLING", v)
		code, _, stderr := runCLI(t, "devices", "--sysfs-root", sysfs)
		assert.Equal(t, 0, code, "%s: %s", v, stderr)
		o, _, _, code := parseRunFlags([]string{"--", "train"}, io.Discard)
		require.Equal(t, -1, code, v)
		want, _ := parseBool(v)
		assert.Equal(t, want, o.gpuSampling, v)
	}
	t.Setenv("CARBONTRACK_GPU_POWER_SAMPLING", "")

	// Booleans are spelled alike on the command line.
	code, out, stderr := runCLI(t, "report", "--json=yes", ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(out, "{"), out)
	t.Setenv("CARBONTRACK_JSON", "on")
	code, out, stderr = runCLI(t, "report", "--json=off", ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(out, "RUN "), out)
	t.Setenv("CARBONTRACK_JSON", "")

	// The same number, the same error.
	t.Setenv("CARBONTRACK_PUE", "lots")
	for _, args := range [][]string{
		{"estimate", "--watts", "100", "--hours", "1"},
		{"run", "--", "true"},
	} {
		code, _, stderr := runCLI(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Contains(t, stderr, `CARBONTRACK_PUE="lots": invalid value for --pue: `, args)
	}
	t.Setenv("CARBONTRACK_PUE", "")

	t.Setenv("CARBONTRACK_PROVIDER", "nope")
	code, _, stderr = runCLI(t, "intensity", "--zone", "FR")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown provider "nope"`)
	code, _, stderr = runCLI(t, "intensity", "--zone", "FR", "--provider", "static")
	assert.Equal(t, 0, code, stderr)
	t.Setenv("CARBONTRACK_PROVIDER", "")

	// Each twin is named in its flag's help.
	for name, twins := range map[string][]string{
		"devices":   {"CARBONTRACK_SYSFS_ROOT", "CARBONTRACK_NVML_LIBRARY", "CARBONTRACK_INTERVAL", "CARBONTRACK_GPU_POWER_SAMPLING"},
		"intensity": {"CARBONTRACK_ZONE", "CARBONTRACK_REGION", "CARBONTRACK_PROVIDER", "CARBONTRACK_PROVIDER_URL"},
		"estimate":  {"CARBONTRACK_PUE", "CARBONTRACK_ZONE", "CARBONTRACK_REGION"},
		"serve": {"CARBONTRACK_METRICS_ADDR", "CARBONTRACK_ALLOW_PUBLIC", "CARBONTRACK_INTERVAL", "CARBONTRACK_RUN_ID",
			"CARBONTRACK_NODE", "CARBONTRACK_SYSFS_ROOT", "CARBONTRACK_NVML_LIBRARY", "CARBONTRACK_GPU_POWER_SAMPLING"},
		"report": {"CARBONTRACK_PLOT", "CARBONTRACK_JSON", "CARBONTRACK_PER_EPOCH"},
	} {
		_, out, _ := runCLI(t, "help", name)
		for _, v := range twins {
			assert.Contains(t, out, "(env "+v+")", name)
		}
	}
}
