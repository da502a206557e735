//go:build linux

package power_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/sampler"
)

type zone = powertest.Zone

func writePowercap(t testing.TB, zones ...zone) string { return powertest.WritePowercap(t, zones...) }

func setEnergy(t testing.TB, root, dir string, uj uint64) { powertest.SetEnergy(t, root, dir, uj) }

func write(t testing.TB, p, s string) {
	t.Helper()
	require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
}

// twoSocketServer is a dual-socket Intel server: packages with core, uncore
// and dram sub-zones, a psys zone, and the MMIO duplicate of package 0.
func twoSocketServer() []zone {
	return []zone{
		{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 1_000_000},
		{Dir: "intel-rapl:0:0", Name: "core", EnergyUJ: 500_000},
		{Dir: "intel-rapl:0:1", Name: "uncore", EnergyUJ: 100_000},
		{Dir: "intel-rapl:0:2", Name: "dram", EnergyUJ: 2_000_000},
		{Dir: "intel-rapl:1", Name: "package-1", EnergyUJ: 3_000_000},
		{Dir: "intel-rapl:1:0", Name: "core", EnergyUJ: 700_000},
		{Dir: "intel-rapl:1:1", Name: "dram", EnergyUJ: 4_000_000},
		{Dir: "intel-rapl:2", Name: "psys", EnergyUJ: 9_000_000},
		{Dir: "intel-rapl-mmio:0", Name: "package-0", EnergyUJ: 1_000_000},
	}
}

func discoverRAPL(t *testing.T, root string, opts ...power.Option) *power.Discovery {
	t.Helper()
	opts = append([]power.Option{power.WithSysfsRoot(root), power.WithKinds(power.KindCPU, power.KindDRAM),
		power.WithProcRoot(writeProc(t, procSpec{Model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", CPUs: 4}))}, opts...)
	d, err := power.Discover(t.Context(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	return d
}

func names(d *power.Discovery) []string {
	var out []string
	for _, s := range d.Sources {
		out = append(out, s.Info().Name)
	}
	return out
}

func TestRAPLZoneSelection(t *testing.T) {
	d := discoverRAPL(t, writePowercap(t, twoSocketServer()...))
	assert.Equal(t, []string{"cpu:package-0", "cpu:package-1", "dram:package-0", "dram:package-1"}, names(d),
		"packages and DRAM only: core/uncore are inside the package, psys is the platform, mmio duplicates package-0")
	for _, s := range d.Sources {
		i := s.Info()
		assert.Equal(t, power.MethodCounter, i.Method)
		assert.True(t, i.Wraps)
		assert.Positive(t, float64(i.MaxPower))
		assert.NotContains(t, i.Name, ".", "the carbontracker log parser cuts names at '.'")
	}
}

func TestRAPLOnAMDWithoutDRAM(t *testing.T) {
	// AMD Zen exposes package and core zones through the same driver, no DRAM.
	root := writePowercap(t,
		zone{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 10, MaxUJ: 65532610987},
		zone{Dir: "intel-rapl:0:0", Name: "core", EnergyUJ: 5, MaxUJ: 65532610987},
	)
	d := discoverRAPL(t, root)
	assert.Equal(t, []string{"cpu:package-0", "dram:estimate"}, names(d))
	assert.Equal(t, power.MethodEstimated, d.Sources[1].Info().Method)
}

func TestRAPLReadsDeltasAndWraps(t *testing.T) {
	root := writePowercap(t, zone{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 900_000_000, MaxUJ: 1_000_000_000})
	d := discoverRAPL(t, root, power.WithKinds(power.KindCPU))
	require.Equal(t, []string{"cpu:package-0"}, names(d))
	src := d.Sources[0]
	var r power.Reading
	require.NoError(t, src.Read(t.Context(), &r))
	assert.Zero(t, r.Energy)
	setEnergy(t, root, "intel-rapl:0", 950_000_000)
	require.NoError(t, src.Read(t.Context(), &r))
	assert.InDelta(t, 50, float64(r.Energy), 1e-9, "µJ to J")
	// Wraps past max_energy_range_uj: (max - last) + current.
	setEnergy(t, root, "intel-rapl:0", 25_000_000)
	require.NoError(t, src.Read(t.Context(), &r))
	assert.InDelta(t, 50+50+25, float64(r.Energy), 1e-9)
	allocs := testing.AllocsPerRun(100, func() { _ = src.Read(t.Context(), &r) })
	assert.Zero(t, allocs, "a RAPL read allocates nothing")
}

func TestRAPLResetIsSkippedBySampler(t *testing.T) {
	root := writePowercap(t, zone{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 100_000_000_000})
	d := discoverRAPL(t, root, power.WithKinds(power.KindCPU))
	s, err := sampler.New(d.Sources)
	require.NoError(t, err)
	t0 := time.Unix(1_700_000_000, 0)
	step := func(k int, uj uint64) {
		setEnergy(t, root, "intel-rapl:0", uj)
		s.SampleAt(t.Context(), t0.Add(time.Duration(k)*time.Second))
	}
	step(0, 100_000_000_000)
	step(1, 100_100_000_000) // 100 J in 1 s
	step(2, 5_000_000)       // reset: unwrapping would claim 162 kJ in 1 s
	step(3, 105_000_000)     // 100 J
	st := s.Snapshot().Sources[0]
	assert.InDelta(t, 200, float64(st.Energy), 1e-6, "the reset interval is skipped, never counted as a spike or negative")
	assert.Equal(t, 1, st.Resets)
}

func TestRAPLAbsentFallsBackToEstimate(t *testing.T) {
	d := discoverRAPL(t, t.TempDir())
	assert.Equal(t, []string{"cpu:estimate", "dram:estimate"}, names(d))
	require.NotEmpty(t, d.Unavailable)
	assert.ErrorIs(t, d.Unavailable[0].Err, power.ErrNotFound)
	assert.Contains(t, d.Unavailable[0].Reason(), "class/powercap")
}

func TestRAPLBadCounterIsUnavailable(t *testing.T) {
	root := writePowercap(t, zone{Dir: "intel-rapl:0", Name: "package-0"})
	write(t, filepath.Join(root, "class/powercap/intel-rapl:0/energy_uj"), "garbage\n")
	d := discoverRAPL(t, root)
	assert.Equal(t, []string{"cpu:estimate", "dram:estimate"}, names(d))
	require.Len(t, d.Unavailable, 1)
	assert.Equal(t, "cpu:package-0", d.Unavailable[0].Name)
}

// TestRAPLPermissionDenied runs discovery as an unprivileged user on a tree
// whose energy_uj is root-only (0400), as on kernels since Linux 5.10. Root
// reads any file, so the test re-executes itself as nobody; it skips only
// when it cannot drop root (not root to begin with is handled by chmod
// alone).
func TestRAPLPermissionDenied(t *testing.T) {
	if os.Getenv("CARBONTRACK_TEST_RAPL_CHILD") == "1" {
		raplPermissionChild(t)
		return
	}
	dir := t.TempDir()
	// t.TempDir's directories are private (0700); open them for the child.
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	root := filepath.Join(dir, "sys")
	for _, z := range []zone{{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 1}, {Dir: "intel-rapl:0:0", Name: "dram", EnergyUJ: 1}} {
		d := filepath.Join(root, "class", "powercap", z.Dir)
		require.NoError(t, os.MkdirAll(d, 0o755))
		write(t, filepath.Join(d, "name"), z.Name+"\n")
		write(t, filepath.Join(d, "max_energy_range_uj"), "262143328850\n")
		write(t, filepath.Join(d, "energy_uj"), "1\n")
		require.NoError(t, os.Chmod(filepath.Join(d, "energy_uj"), 0o400))
	}
	proc := writeProcIn(t, filepath.Join(dir, "proc"), procSpec{Model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", CPUs: 4})
	require.NoError(t, chmodTree(proc))

	// Copy the test binary where the unprivileged user can execute it.
	self, err := os.Executable()
	require.NoError(t, err)
	bin := filepath.Join(dir, "power.test")
	data, err := os.ReadFile(self)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))

	cmd := exec.Command(bin, "-test.run=^TestRAPLPermissionDenied$", "-test.v")
	cmd.Env = append(os.Environ(), "CARBONTRACK_TEST_RAPL_CHILD=1", "CARBONTRACK_TEST_SYS="+root, "CARBONTRACK_TEST_PROC="+proc,
		"TMPDIR="+dir)
	uid := uint32(os.Geteuid())
	if uid == 0 {
		uid = 65534 // nobody
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := cmd.CombinedOutput()
	if err != nil && os.Geteuid() == 0 && len(out) == 0 {
		t.Skipf("cannot drop root to run the permission case (%v); it needs a non-root user", err)
	}
	require.NoError(t, err, "child output:\n%s", out)
	t.Logf("child (uid %d):\n%s", cmd.SysProcAttr.Credential.Uid, out)
	assert.Contains(t, string(out), "--- PASS: TestRAPLPermissionDenied")
}

func chmodTree(dir string) error {
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	})
}

func raplPermissionChild(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("child still runs as root")
	}
	d, err := power.Discover(t.Context(), power.WithSysfsRoot(os.Getenv("CARBONTRACK_TEST_SYS")),
		power.WithKinds(power.KindCPU, power.KindDRAM), power.WithProcRoot(os.Getenv("CARBONTRACK_TEST_PROC")))
	require.NoError(t, err)
	defer d.Close()
	assert.Equal(t, []string{"cpu:estimate", "dram:estimate"}, names(d), "the estimates stand in")
	require.Len(t, d.Unavailable, 2)
	for _, u := range d.Unavailable {
		assert.ErrorIs(t, u.Err, power.ErrPermission)
		msg := u.Reason()
		assert.Contains(t, msg, "energy_uj")
		assert.Contains(t, msg, os.Getenv("CARBONTRACK_TEST_SYS"), "names the file")
		assert.Contains(t, msg, "chmod")
		assert.Contains(t, msg, "cap_dac_read_search")
		assert.Contains(t, msg, "estimate is used instead")
		fmt.Println("reason:", msg)
	}
}

// TestRAPLMultiDieAndUnknownZones: CPUs with several dies per package name
// their zones package-N-die-M (procfs leaves such names whole); each die is
// measured. A zone of an unknown kind is reported, never silently dropped.
func TestRAPLMultiDieAndUnknownZones(t *testing.T) {
	root := writePowercap(t,
		zone{Dir: "intel-rapl:0", Name: "package-0-die-0", EnergyUJ: 1},
		zone{Dir: "intel-rapl:0:0", Name: "dram", EnergyUJ: 1},
		zone{Dir: "intel-rapl:1", Name: "package-0-die-1", EnergyUJ: 1},
		zone{Dir: "intel-rapl:1:0", Name: "core", EnergyUJ: 1},
		zone{Dir: "intel-rapl:2", Name: "uncore-gt", EnergyUJ: 1},
	)
	d := discoverRAPL(t, root)
	assert.Equal(t, []string{"cpu:package-0-die-0", "cpu:package-0-die-1", "dram:package-0-die-0"}, names(d))
	require.Len(t, d.Unavailable, 1)
	assert.Equal(t, "rapl:intel-rapl:2", d.Unavailable[0].Name)
	assert.Contains(t, d.Unavailable[0].Reason(), `"uncore-gt"`)
}
