//go:build unix

package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
)

func TestParseDeclare(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want power.DeclaredPower
	}{
		{"gpu=15W", power.DeclaredPower{Kind: power.KindGPU, Power: 15}},
		{"gpu=15", power.DeclaredPower{Kind: power.KindGPU, Power: 15}},
		{"gpu=15 W", power.DeclaredPower{Kind: power.KindGPU, Power: 15}},
		{" GPU = 300w @ 0.8 , NVIDIA A100: not visible, really ", power.DeclaredPower{Kind: power.KindGPU, Power: 300,
			Utilization: 0.8, Device: "NVIDIA A100: not visible, really"}},
		{"cpu=65W@50%,Apple M2", power.DeclaredPower{Kind: power.KindCPU, Power: 65, Utilization: 0.5, Device: "Apple M2"}},
		{"dram=3.5W@1", power.DeclaredPower{Kind: power.KindDRAM, Power: 3.5, Utilization: 1}},
	} {
		got, err := parseDeclare(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, tc := range []struct{ in, want string }{
		{"gpu", `"gpu" has no '='`},
		{"npu=10W", `unknown kind "npu"`},
		{"gpu=", `gpu power "" is not a positive number of watts`},
		{"gpu=abc", `gpu power "abc"`},
		{"gpu=0W", `gpu power "0W"`},
		{"gpu=-5W", `gpu power "-5W"`},
		{"gpu=NaN", `gpu power "NaN"`},
		{"gpu=Inf", `gpu power "Inf"`},
		{"gpu=1e308W", `gpu power "1e308W"`},
		{"gpu=10W@1.5", `gpu utilisation "1.5" is not in (0, 1]`},
		{"gpu=10W@0", `gpu utilisation "0"`},
		{"gpu=10W@150%", `gpu utilisation "150%"`},
		{"gpu=10W@", `gpu utilisation ""`},
		{"gpu:Apple M2 GPU:15W", `"gpu:Apple M2 GPU:15W" has no '='`},
	} {
		_, err := parseDeclare(tc.in)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want, tc.in)
		assert.Contains(t, err.Error(), "want "+declareForm, tc.in)
	}
}

func TestDeclareFlag(t *testing.T) {
	o, _, _, code := parseRunFlags([]string{"--declare", "gpu=15W@0.8,Apple M2 GPU", "--declare", "cpu=20W; dram=2W", "--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	require.Len(t, o.declared, 3)
	assert.Equal(t, "gpu=15W@0.8,Apple M2 GPU;cpu=20W;dram=2W", o.declared.String())
	assert.Len(t, o.declaredOptions(), 3)

	t.Setenv(declareEnv, "gpu=300W")
	o, _, _, code = parseRunFlags([]string{"--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.Equal(t, "gpu=300W", o.declared.String())
}

func TestDeclareBadValueIsOneLineUsageError(t *testing.T) {
	sysfs := fakeMachine(t)
	for _, args := range [][]string{
		{"devices", "--sysfs-root", sysfs, "--declare", "gpu=lots"},
		{"run", "--sysfs-root", sysfs, "--declare", "gpu=lots", "--", "true"},
	} {
		code, out, stderr := runCLI(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Empty(t, out)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		require.Len(t, lines, 2, stderr)
		assert.Contains(t, lines[0], `invalid value "gpu=lots" for flag -declare: gpu power "lots" is not a positive number of watts: want KIND=WATTS[@UTIL][,NAME]`)
		assert.Equal(t, "see 'carbontrack "+args[0]+" --help'", lines[1])
	}
	t.Setenv(declareEnv, "gpu=10W@2")
	code, _, stderr := runCLI(t, "devices", "--sysfs-root", sysfs)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `CARBONTRACK_DECLARE="gpu=10W@2": invalid value for --declare: gpu utilisation "2"`)
}

func TestDevicesDeclare(t *testing.T) {
	sysfs := fakeMachine(t) // RAPL package and DRAM, no NVML
	code, out, stderr := runCLI(t, "devices", "--sysfs-root", sysfs, "--declare", "gpu=15W@0.8,Apple M2 GPU")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `gpu:declared\s+gpu\s+declared\s+Apple M2 GPU`, out)
	assert.Contains(t, out, "gpu:declared: declared 15 W × utilisation 0.8 = 12 W, not measured")
	assert.Empty(t, stderr)

	// A declared CPU next to the measured package: both listed, with a
	// warning.
	code, out, stderr = runCLI(t, "devices", "--sysfs-root", sysfs, "--json", "--declare", "cpu=20W")
	require.Equal(t, 0, code, stderr)
	var doc devicesJSON
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	var got []string
	for _, s := range doc.Sources {
		got = append(got, s.Name+" "+s.Method)
	}
	assert.Equal(t, []string{"cpu:package-0 counter", "cpu:declared declared", "dram:package-0 counter"}, got)
	assert.Contains(t, stderr, "warning: ")
	assert.Contains(t, stderr, "both are counted")
}

func TestRunDeclare(t *testing.T) {
	env, sysfs := noDevices(t) // no NVML, no RAPL: the CPU and RAM estimates
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	code, _, stderr := runCLI(t, "run", "--sysfs-root", sysfs, "--log-dir", filepath.Join(dir, "logs"), "--interval", "20ms",
		"--report-file", report, "--declare", "gpu=15W,Apple M2 GPU", "--declare", "cpu=10W@50%", "--", self, "exit", "0")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `gpu:declared\s+gpu\s+declared`, stderr, "the report shows the method")
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"method": "declared"`)
	assert.NotContains(t, string(b), `"cpu:estimate"`, "the declared CPU replaces the estimate")
	assert.Contains(t, string(b), `"dram:estimate"`)
}

func FuzzParseDeclare(f *testing.F) {
	for _, s := range []string{"gpu=15W", "cpu=65W@50%,Apple M2", "gpu=300w@0.8,NVIDIA: A100", "dram=", "=", "gpu=1e309", "gpu=10W@-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDeclare(s)
		if err != nil {
			return
		}
		require.NoError(t, d.Check(), s)
		_, err = power.NewDeclared(d, "")
		require.NoError(t, err, s)
	})
}
