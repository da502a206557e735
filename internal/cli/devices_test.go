package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
)

// fakeMachine points discovery at a powercap tree with one package and its
// DRAM, a fake /proc, and a missing NVML library.
func fakeMachine(t *testing.T) (sysfs string) {
	t.Helper()
	sysfs = powertest.WritePowercap(t,
		powertest.Zone{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 1000},
		powertest.Zone{Dir: "intel-rapl:0:0", Name: "dram", EnergyUJ: 1000},
	)
	t.Setenv(power.EnvProcRoot, powertest.WriteProc(t, filepath.Join(t.TempDir(), "proc"), powertest.Proc{Model: "AMD EPYC", CPUs: 2}))
	t.Setenv(power.EnvNVMLLibrary, filepath.Join(t.TempDir(), "libnvidia-ml.so.1"))
	t.Setenv(power.EnvAMDSMILibrary, filepath.Join(t.TempDir(), "libamd_smi.so"))
	t.Setenv("CUDA_VISIBLE_DEVICES", "")
	return sysfs
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// drawPower makes the fake package draw watts until the test ends: its
// energy_uj advances with the wall clock (written in place, fixed width, as
// the source keeps the file open).
func drawPower(t *testing.T, sysfs, zone string, watts float64) {
	f, err := os.OpenFile(filepath.Join(sysfs, "class", "powercap", zone, "energy_uj"), os.O_WRONLY, 0)
	require.NoError(t, err)
	start, stop, done := time.Now(), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			uj := 1000 + uint64(watts*time.Since(start).Seconds()*1e6)
			_, _ = f.WriteAt([]byte(fmt.Sprintf("%020d\n", uj)), 0)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; _ = f.Close() })
}

func TestDevicesJSON(t *testing.T) {
	sysfs := fakeMachine(t)
	drawPower(t, sysfs, "intel-rapl:0", 50)
	code, out, stderr := runCLI(t, "devices", "--json", "--sysfs-root", sysfs, "--measure", "500ms", "--interval", "50ms")
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Sources []struct {
			Name, Kind, Device, Method string
			EnergyJ                    *float64 `json:"energy_j"`
			AvgPowerW                  *float64 `json:"avg_power_w"`
		} `json:"sources"`
		Unavailable []struct{ Name, Reason string } `json:"unavailable"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Sources, 2)
	assert.Equal(t, "cpu:package-0", doc.Sources[0].Name)
	assert.Equal(t, "cpu", doc.Sources[0].Kind)
	assert.Equal(t, "counter", doc.Sources[0].Method)
	assert.Equal(t, "dram:package-0", doc.Sources[1].Name)
	for _, s := range doc.Sources {
		require.NotNil(t, s.EnergyJ, "--measure adds energy")
		require.NotNil(t, s.AvgPowerW)
	}
	pkg, dram := doc.Sources[0], doc.Sources[1]
	assert.InDelta(t, 50, *pkg.AvgPowerW, 5, "the package draws 50 W")
	assert.InDelta(t, 25, *pkg.EnergyJ, 4, "50 W for 0.5 s, in joules")
	assert.Zero(t, *dram.EnergyJ, "the DRAM counter does not move")
	require.Len(t, doc.Unavailable, 2)
	assert.Equal(t, "nvml", doc.Unavailable[0].Name)
	assert.Equal(t, "amdsmi", doc.Unavailable[1].Name)
	if nvmlBuilt {
		assert.Contains(t, doc.Unavailable[0].Reason, "ERROR_LIBRARY_NOT_FOUND")
		assert.Contains(t, doc.Unavailable[1].Reason,
			"AMD SMI (libamd_smi.so) not found: AMD GPUs are read through hwmon where the amdgpu driver exposes power")
	} else {
		assert.Contains(t, doc.Unavailable[0].Reason, "built without cgo")
		assert.Contains(t, doc.Unavailable[1].Reason, "built without cgo")
	}
}

func TestDevicesTableWithoutRAPL(t *testing.T) {
	fakeMachine(t)
	code, out, _ := runCLI(t, "devices", "--sysfs-root", t.TempDir())
	require.Equal(t, 0, code)
	assert.Contains(t, out, "cpu:estimate")
	assert.Contains(t, out, "estimated")
	assert.Contains(t, out, "Not measured:")
	assert.Contains(t, out, "  rapl: no powercap zones", "no stutter: rapl: power: rapl:")
	assert.Contains(t, out, "nvml:")
}

func TestDevicesJSONWithoutMeasureHasNullEnergy(t *testing.T) {
	fakeMachine(t)
	code, out, _ := runCLI(t, "devices", "--json", "--sysfs-root", t.TempDir())
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"energy_j": null`)
}

func TestUsageAndErrors(t *testing.T) {
	code, out, _ := runCLI(t)
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "devices")
	code, _, stderr := runCLI(t, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	code, _, stderr = runCLI(t, "devices", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Examples:")
	code, _, _ = runCLI(t, "devices", "--measure", "-1s")
	assert.Equal(t, 2, code)
	code, _, _ = runCLI(t, "devices", "extra")
	assert.Equal(t, 2, code)
}

// TestDevicesListsHwmon: an AMD GPU in the hwmon class of the --sysfs-root
// tree is listed with its method, next to RAPL's package, and measured.
func TestDevicesListsHwmon(t *testing.T) {
	sysfs := fakeMachine(t)
	// class/hwmon/hwmon0 links to the GPU's hwmon directory, whose device
	// link names the PCI address (written here: ':' is not committed).
	gpu := filepath.Join(sysfs, "devices", "pci0000:00", "0000:03:00.0")
	hw := filepath.Join(gpu, "hwmon", "hwmon0")
	require.NoError(t, os.MkdirAll(hw, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(sysfs, "class", "hwmon"), 0o755))
	require.NoError(t, os.Symlink(hw, filepath.Join(sysfs, "class", "hwmon", "hwmon0")))
	require.NoError(t, os.Symlink(gpu, filepath.Join(hw, "device")))
	require.NoError(t, os.WriteFile(filepath.Join(hw, "name"), []byte("amdgpu\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(hw, "power1_average"), []byte("120000000\n"), 0o644)) // 120 W in µW

	code, out, stderr := runCLI(t, "devices", "--sysfs-root", sysfs)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^gpu:amdgpu-0\s+gpu\s+sampled\s+AMD GPU \(amdgpu, PCI 0000:03:00\.0\)$`, out)
	assert.Regexp(t, `(?m)^cpu:package-0\s+cpu\s+counter\s`, out)
	assert.Contains(t, out, "  gpu:amdgpu-0: hwmon hwmon0/power1_average (µW)")

	code, out, stderr = runCLI(t, "devices", "--json", "--sysfs-root", sysfs, "--measure", "300ms", "--interval", "50ms")
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Sources []struct {
			Name, Method string
			AvgPowerW    *float64 `json:"avg_power_w"`
		} `json:"sources"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.NotEmpty(t, doc.Sources)
	assert.Equal(t, "gpu:amdgpu-0", doc.Sources[0].Name, "GPUs first")
	assert.Equal(t, "sampled", doc.Sources[0].Method)
	require.NotNil(t, doc.Sources[0].AvgPowerW)
	assert.InDelta(t, 120, *doc.Sources[0].AvgPowerW, 1e-6, "a constant 120 W")
}
