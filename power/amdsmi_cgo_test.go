//go:build linux && cgo

package power

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests load a C stand-in for libamd_smi.so (testdata/fakeamdsmi.c),
// built with gcc into a temporary directory, through the real dlopen and
// cgo path. Each test builds its own copy: copies at different paths are
// different libraries, each with its own state, so the tests share nothing.

// fakeAMDSMI is a built stand-in and the directory of files driving it.
type fakeAMDSMI struct {
	lib, dir string
}

func buildFakeAMDSMI(t *testing.T, cflags ...string) fakeAMDSMI {
	t.Helper()
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler (%s) to build the AMD SMI stand-in with", cc)
	}
	f := fakeAMDSMI{lib: filepath.Join(t.TempDir(), "libamd_smi.so"), dir: t.TempDir()}
	args := append([]string{"-shared", "-fPIC", "-O2", "-o", f.lib}, cflags...)
	out, err := exec.Command(cc, append(args, filepath.Join("testdata", "fakeamdsmi.c"))...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Setenv("FAKEAMDSMI_DIR", f.dir)
	t.Setenv("HIP_VISIBLE_DEVICES", "")
	require.NoError(t, os.Unsetenv("HIP_VISIBLE_DEVICES")) // restored by t.Setenv's cleanup
	t.Setenv("ROCR_VISIBLE_DEVICES", "")
	require.NoError(t, os.Unsetenv("ROCR_VISIBLE_DEVICES"))
	return f
}

func (f fakeAMDSMI) set(t *testing.T, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, name), []byte(content+"\n"), 0o644))
}

// calls returns the functions called so far, in order.
func (f fakeAMDSMI) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Fields(string(b))
}

func count(calls []string, name string) int {
	n := 0
	for _, c := range calls {
		if c == name {
			n++
		}
	}
	return n
}

// discoverAMD runs Discover for GPUs with the stand-in, no NVML and an
// empty sysfs tree unless opts say otherwise.
func discoverAMD(t *testing.T, lib string, opts ...Option) *Discovery {
	t.Helper()
	opts = append([]Option{WithKinds(KindGPU), WithAMDSMILibrary(lib), WithSysfsRoot(t.TempDir()),
		WithNVMLLibrary(filepath.Join(t.TempDir(), "libnvidia-ml.so.1"))}, opts...)
	d, err := Discover(t.Context(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	return d
}

func unavailableNamed(d *Discovery, name string) (Unavailable, bool) {
	for _, u := range d.Unavailable {
		if u.Name == name {
			return u, true
		}
	}
	return Unavailable{}, false
}

func readEnergy(t *testing.T, s Source) Reading {
	t.Helper()
	var r Reading
	require.NoError(t, s.Read(t.Context(), &r))
	return r
}

func TestAMDSMIEnergyCounter(t *testing.T) {
	f := buildFakeAMDSMI(t)
	f.set(t, "layout", "1 1")             // two sockets of one GPU each
	f.set(t, "gpu0", "1000 15.3 0x300 0") // 0000:03:00.0
	f.set(t, "gpu1", "7 0.5 0x1c10a 0")   // 0001:c1:01.2
	d := discoverAMD(t, f.lib)
	require.Len(t, d.Sources, 2, "%v", d.Unavailable)
	g0, g1 := d.Sources[0], d.Sources[1]
	assert.Equal(t, Info{Name: "gpu:amdsmi-0", Kind: KindGPU, Index: 0, Device: "AMD Instinct MI300X (fake 0) (PCI 0000:03:00.0)",
		Method: MethodCounter, Detail: "energy counter (amdsmi_get_energy_count, 15.3 µJ units)", MaxPower: hwmonGPUDefaultMax}, g0.Info())
	assert.Equal(t, "gpu:amdsmi-1", g1.Info().Name)
	assert.Equal(t, "AMD Instinct MI300X (fake 1) (PCI 0001:c1:01.2)", g1.Info().Device)
	assert.Equal(t, map[string]bool{"0000:03:00.0": true, "0001:c1:01.2": true}, (&found{sources: d.Sources}).pciAddresses())

	assert.Zero(t, readEnergy(t, g0).Energy, "the first read is the origin")
	assert.Zero(t, readEnergy(t, g1).Energy)

	// The resolution is a C float: 15.3 is 15.300000190734863 µJ.
	res := float64(float32(15.3))
	f.set(t, "gpu0", "66360 15.3 0x300 0")
	f.set(t, "gpu1", "2000007 0.5 0x1c10a 0")
	assert.InDelta(t, 65360*res/1e6, float64(readEnergy(t, g0).Energy), 1e-12)
	assert.Equal(t, Joules(1), readEnergy(t, g1).Energy, "2,000,000 units of 0.5 µJ")

	// The accumulator goes back (a GPU reset): the interval is skipped.
	f.set(t, "gpu0", "500 15.3 0x300 0")
	r := readEnergy(t, g0)
	assert.True(t, r.Reset)
	assert.InDelta(t, 65360*res/1e6, float64(r.Energy), 1e-12)
	f.set(t, "gpu0", "1500 15.3 0x300 0")
	r = readEnergy(t, g0)
	assert.False(t, r.Reset)
	assert.InDelta(t, 66360*res/1e6, float64(r.Energy), 1e-12)

	calls := f.calls(t)
	assert.Equal(t, []string{"amdsmi_init", "amdsmi_get_socket_handles", "amdsmi_get_socket_handles"}, calls[:3])
	assert.Zero(t, count(calls, "amdsmi_shut_down"))

	// amdsmi_shut_down comes once, with the last Close; reads after Close
	// call nothing.
	require.NoError(t, g0.(Closer).Close())
	assert.Zero(t, count(f.calls(t), "amdsmi_shut_down"))
	require.NoError(t, g1.(Closer).Close())
	require.NoError(t, g1.(Closer).Close())
	calls = f.calls(t)
	assert.Equal(t, 1, count(calls, "amdsmi_shut_down"))
	var rr Reading
	assert.ErrorIs(t, g0.Read(t.Context(), &rr), ErrLost)
	assert.Equal(t, calls, f.calls(t))
}

func TestAMDSMIInitFails(t *testing.T) {
	f := buildFakeAMDSMI(t)
	f.set(t, "init", "34") // AMDSMI_STATUS_DRIVER_NOT_LOADED
	d := discoverAMD(t, f.lib)
	assert.Empty(t, d.Sources)
	u, ok := unavailableNamed(d, "amdsmi")
	require.True(t, ok, "%v", d.Unavailable)
	assert.ErrorIs(t, u.Err, ErrNotFound)
	assert.Equal(t, "power: amdsmi: amdsmi_init: AMDSMI_STATUS_DRIVER_NOT_LOADED (34) (the amdgpu kernel driver is not loaded, or there is no AMD GPU); AMD GPUs are read through hwmon where the amdgpu driver exposes power", u.Reason())
	assert.Equal(t, []string{"amdsmi_init"}, f.calls(t), "nothing after a failed amdsmi_init, not even amdsmi_shut_down")
}

func TestAMDSMIGPUWithoutEnergyCounter(t *testing.T) {
	f := buildFakeAMDSMI(t)
	f.set(t, "layout", "2")
	f.set(t, "gpu0", "0 15.3 0x300 0")
	f.set(t, "gpu1", "0 15.3 0x400 2") // AMDSMI_STATUS_NOT_SUPPORTED (a VM guest)
	d := discoverAMD(t, f.lib)
	require.Len(t, d.Sources, 1)
	assert.Equal(t, "gpu:amdsmi-0", d.Sources[0].Info().Name)
	u, ok := unavailableNamed(d, "gpu:amdsmi-1")
	require.True(t, ok, "%v", d.Unavailable)
	assert.ErrorIs(t, u.Err, ErrNotSupported)
	assert.Contains(t, u.Reason(), "(AMD Instinct MI300X (fake 1) (PCI 0000:04:00.0)): power: amdsmi: amdsmi_get_energy_count: AMDSMI_STATUS_NOT_SUPPORTED (2); hwmon reads it")
	assert.Equal(t, map[string]bool{"0000:03:00.0": true}, (&found{sources: d.Sources}).pciAddresses(),
		"hwmon may read the GPU AMD SMI cannot")
}

func TestAMDSMINoGPU(t *testing.T) {
	f := buildFakeAMDSMI(t)
	f.set(t, "layout", "")
	d := discoverAMD(t, f.lib)
	assert.Empty(t, d.Sources)
	u, ok := unavailableNamed(d, "amdsmi")
	require.True(t, ok)
	assert.ErrorIs(t, u.Err, ErrNotFound)
	assert.Contains(t, u.Reason(), "found no AMD GPU")
	assert.Equal(t, 1, count(f.calls(t), "amdsmi_shut_down"))
}

// A library that loads but is not AMD SMI is rejected by its exports,
// before any call: calling a function it lacks would end the process.
func TestAMDSMILibraryThatIsNotAMDSMI(t *testing.T) {
	if err := checkLibrary("libm.so.6", libraryCheck{what: "libm", symbols: []symbolGroup{{"cos"}}}); err != nil {
		t.Skipf("no libm.so.6 here: %v", err)
	}
	d := discoverAMD(t, "libm.so.6")
	assert.Empty(t, d.Sources)
	u, ok := unavailableNamed(d, "amdsmi")
	require.True(t, ok)
	assert.ErrorIs(t, u.Err, ErrNotFound)
	assert.Contains(t, u.Reason(), "power: amdsmi: libm.so.6 is not AMD SMI (libamd_smi.so): it exports none of its functions (such as amdsmi_init); point "+
		EnvAMDSMILibrary+" at ROCm's libamd_smi.so")
}

func TestAMDSMILibraryMissingAFunction(t *testing.T) {
	f := buildFakeAMDSMI(t, "-DOMIT_BDF")
	d := discoverAMD(t, f.lib)
	assert.Empty(t, d.Sources)
	u, ok := unavailableNamed(d, "amdsmi")
	require.True(t, ok)
	assert.Contains(t, u.Reason(), "is not a complete AMD SMI (libamd_smi.so): it lacks amdsmi_get_gpu_device_bdf (a stub, or too old a version)")
	assert.Empty(t, f.calls(t), "no function of an incomplete library is called")
}

func TestAMDSMILibraryAbsent(t *testing.T) {
	lib := filepath.Join(t.TempDir(), "libamd_smi.so")
	d := discoverAMD(t, lib)
	u, ok := unavailableNamed(d, "amdsmi")
	require.True(t, ok)
	assert.ErrorIs(t, u.Err, ErrNotFound)
	assert.Equal(t, "power: amdsmi: AMD SMI (libamd_smi.so) not found: AMD GPUs are read through hwmon where the amdgpu driver exposes power (tried "+
		lib+"; "+EnvAMDSMILibrary+" names another path)", u.Reason())

	// A file that exists but cannot be loaded says why.
	require.NoError(t, os.WriteFile(lib, []byte("not an ELF file"), 0o644))
	d = discoverAMD(t, lib)
	u, ok = unavailableNamed(d, "amdsmi")
	require.True(t, ok)
	assert.Contains(t, u.Reason(), "(tried power: cannot load library "+lib+": ")
}

// The GPU AMD SMI measures is not read again through hwmon; another amdgpu
// device is.
func TestAMDSMIHwmonSkipsMeasuredGPU(t *testing.T) {
	f := buildFakeAMDSMI(t)
	f.set(t, "gpu0", "0 15.3 0x300 0") // 0000:03:00.0
	root := writeHwmon(t,
		fakeHwmon{bus: "0000:03:00.0", attrs: map[string]string{"name": "amdgpu", "energy1_input": "5000000"}},
		fakeHwmon{bus: "0000:04:00.0", attrs: map[string]string{"name": "amdgpu", "power1_average": "120000000"}},
	)
	d := discoverAMD(t, f.lib, WithSysfsRoot(root))
	assert.Equal(t, []string{"gpu:amdsmi-0", "gpu:amdgpu-0"}, sourceNames(d.Sources), "%v", d.Unavailable)
	assert.Contains(t, d.Sources[1].Info().Device, "PCI 0000:04:00.0")

	// Without AMD SMI both are hwmon's.
	d = discoverAMD(t, filepath.Join(t.TempDir(), "libamd_smi.so"), WithSysfsRoot(root))
	assert.Equal(t, []string{"gpu:amdgpu-0", "gpu:amdgpu-1"}, sourceNames(d.Sources))
}

func TestAMDSMIProcessView(t *testing.T) {
	f := buildFakeAMDSMI(t)
	d := discoverAMD(t, f.lib, WithProcess(os.Getpid()))
	assert.Empty(t, d.Sources)
	u, ok := unavailableNamed(d, "amdsmi")
	require.True(t, ok, "%v", d.Unavailable)
	assert.ErrorIs(t, u.Err, ErrNotSupported)
	assert.Contains(t, u.Reason(), "gpu:amdsmi-0 not used with a process view")
	assert.Equal(t, 1, count(f.calls(t), "amdsmi_shut_down"))
}

func TestAMDSMIVisibilityNotApplied(t *testing.T) {
	f := buildFakeAMDSMI(t)
	t.Setenv("ROCR_VISIBLE_DEVICES", "0")
	d := discoverAMD(t, f.lib)
	require.Len(t, d.Sources, 1)
	assert.Contains(t, d.Sources[0].Info().Detail, "; ROCR_VISIBLE_DEVICES not applied: every AMD GPU is measured")
}
