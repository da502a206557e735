// Package fakenvml is a test helper: a stand-in libnvidia-ml.so.1 (the C
// source fakenvml.c, compiled by Build) that lets tests drive go-nvml's real
// cgo path (dlopen plus cgo calls) on a machine with no GPU, and the Go twin
// of its power model so tests can compare measured energy with the truth.
//
// The stand-in's devices are described by a Config written to a file whose
// path the library reads from $FAKENVML_CONFIG when it is initialized (the
// first nvmlInit, or the first after the last nvmlShutdown). Each GPU draws
// a square wave of wall-clock time: BusyW for the first Duty of every Period
// (periods start at the Unix epoch), IdleW for the rest. The energy counter
// is the exact integral of that wave since nvmlInit.
//
// A process must load at most one stand-in library: go-nvml's cgo calls are
// bound process-wide to the first library that provides the symbols. Run
// each scenario that needs its own library or environment in a subprocess
// with RunInSubprocess and RunHelper.
//
// Only tests import this package. Everything but Open (open.go, which needs
// go-nvml and so cgo) builds without cgo.
package fakenvml

import (
	_ "embed"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables used by the stand-in and the helpers.
const (
	// EnvConfig names the config file; the C library reads it.
	EnvConfig = "FAKENVML_CONFIG"
	// EnvLibrary carries the path of the built library to a helper
	// process (see Env and Library); the C library ignores it.
	EnvLibrary = "FAKENVML_LIB"
	// EnvHelper holds the scenario a helper process runs (see
	// RunInSubprocess).
	EnvHelper = "GO_WANT_HELPER"
)

// Defaults used for zero fields by Config.Write, PowerAt and EnergyBetween;
// the C library uses the same ones for keys missing from a hand-written
// file.
const (
	DefaultDriver       = "550.54.15"
	DefaultName         = "NVIDIA Fake GPU"
	DefaultPeriod       = time.Second
	DefaultSamplePeriod = 20 * time.Millisecond
)

// Values of GPU.PowerMode.
const (
	// PowerInstant: GetPowerUsage reports the power at the instant of the
	// call (GA100 and older).
	PowerInstant = "instant"
	// PowerAvg1s: GetPowerUsage reports the exact mean power over the
	// trailing second (Hopper and most newer GPUs).
	PowerAvg1s = "avg1s"
)

// RingLen is how many samples the stand-in's GetSamples buffer holds.
const RingLen = 120

//go:embed fakenvml.c
var source []byte

// Source returns the C source of the stand-in library.
func Source() []byte { return append([]byte(nil), source...) }

// Build compiles the stand-in into tb.TempDir()/libnvidia-ml.so.1 and
// returns its path. It skips the test when gcc (or $CC) is missing or the
// OS is not Linux, and fails it, showing the compiler's output, when the
// source does not compile. The first successful compile in a process is
// kept in memory; later calls write the same library into their own
// tb.TempDir() without compiling again.
//
// The library is linked with -z nodelete: go-nvml dlcloses it in Shutdown,
// but cgo call sites stay bound to its functions, and a later Init
// (dlopen again) must find the same code and state.
func Build(tb testing.TB) string {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skipf("fakenvml: the stand-in libnvidia-ml.so.1 needs Linux, not %s", runtime.GOOS)
	}
	dir := tb.TempDir()
	lib := filepath.Join(dir, "libnvidia-ml.so.1")

	built.Lock()
	defer built.Unlock()
	if built.so != nil {
		if err := os.WriteFile(lib, built.so, 0o755); err != nil {
			tb.Fatalf("fakenvml: %v", err)
		}
		return lib
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	ccPath, err := exec.LookPath(cc)
	if err != nil {
		tb.Skipf("fakenvml: C compiler %q not found (%v); skipping test that needs the stand-in libnvidia-ml.so.1", cc, err)
	}
	src := filepath.Join(dir, "fakenvml.c")
	if err := os.WriteFile(src, source, 0o644); err != nil {
		tb.Fatalf("fakenvml: %v", err)
	}
	cmd := exec.Command(ccPath, "-shared", "-fPIC", "-O2", "-Wall", "-pthread",
		"-Wl,-z,nodelete", "-o", lib, src, "-lm")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("fakenvml: compiling the stand-in library failed: %v\n%s\n%s", err, cmd, out)
	}
	so, err := os.ReadFile(lib)
	if err != nil {
		tb.Fatalf("fakenvml: %v", err)
	}
	built.so = so
	return lib
}

// built caches the first compiled library of the process.
var built struct {
	sync.Mutex
	so []byte
}

// GPU describes one device of the stand-in.
type GPU struct {
	Name string // "" = DefaultName
	UUID string // "" = DefaultUUID(index)
	// The power square wave: BusyW while (t mod Period) < Duty*Period, else
	// IdleW, t being the wall-clock time since the Unix epoch.
	IdleW, BusyW float64
	Period       time.Duration // 0 = DefaultPeriod
	Duty         float64       // in [0, 1]
	// Counter: GetTotalEnergyConsumption is supported (else NOT_SUPPORTED).
	Counter bool
	// Samples: GetSamples(TOTAL_POWER_SAMPLES) is supported.
	Samples bool
	// SamplePeriod is the spacing of the GetSamples buffer's readings, a
	// whole number of microseconds; 0 = DefaultSamplePeriod.
	SamplePeriod time.Duration
	// PowerMode is PowerInstant ("" too) or PowerAvg1s.
	PowerMode string
	// LimitW is the enforced and management power limit.
	LimitW float64
	// LostAfter > 0: that long after nvmlInit, every call on the device
	// returns ERROR_GPU_IS_LOST. Zero or negative: never lost, so the zero
	// value is a healthy GPU (use time.Nanosecond for "lost at once").
	LostAfter time.Duration
	// PIDs are returned by GetComputeRunningProcesses.
	PIDs []int
	// MIGUUID, when set ("MIG-..."), is a MIG device of this GPU that
	// DeviceGetHandleByUUID resolves; MIG mode reads as enabled.
	MIGUUID string
	// Arch is GetArchitecture's answer; 0 = Hopper (9) for PowerAvg1s,
	// Ampere (7) otherwise.
	Arch int
	// CounterOffsetMJ is the energy counter's value at nvmlInit (real
	// counters start at an arbitrary value).
	CounterOffsetMJ uint64
}

// DefaultUUID is the UUID of GPU index when GPU.UUID is empty.
func DefaultUUID(index int) string {
	return fmt.Sprintf("GPU-00000000-0000-4000-8000-%012x", index)
}

// DefaultGPU returns a healthy GPU with every feature on: 60 W idle, 300 W
// busy half of each second, counter and samples supported, 700 W limit.
func DefaultGPU(index int) GPU {
	return GPU{
		Name: DefaultName, UUID: DefaultUUID(index),
		IdleW: 60, BusyW: 300, Period: DefaultPeriod, Duty: 0.5,
		Counter: true, Samples: true, SamplePeriod: DefaultSamplePeriod,
		PowerMode: PowerInstant, LimitW: 700,
	}
}

// Config describes the whole stand-in.
type Config struct {
	// InitError is the nvmlReturn_t every nvmlInit returns (0 = success),
	// e.g. 9 (ERROR_DRIVER_NOT_LOADED).
	InitError int
	Driver    string // "" = DefaultDriver
	GPUs      []GPU
}

// Text returns the config file for c, or an error for an invalid field.
func (c Config) Text() (string, error) {
	var b strings.Builder
	driver := c.Driver
	if driver == "" {
		driver = DefaultDriver
	}
	if err := checkString("driver", driver); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "# fakenvml config (see fakenvml.c)\ninit_error=%d\ndriver=%s\n", c.InitError, driver)
	if len(c.GPUs) > 16 {
		return "", fmt.Errorf("fakenvml: %d GPUs, at most 16", len(c.GPUs))
	}
	for i, g := range c.GPUs {
		if err := g.write(&b, i); err != nil {
			return "", fmt.Errorf("fakenvml: GPU %d: %w", i, err)
		}
	}
	return b.String(), nil
}

// Write writes the config file into tb.TempDir() and returns its path; set
// it in EnvConfig (tb.Setenv, or Env for a subprocess) before nvmlInit.
func (c Config) Write(tb testing.TB) string {
	tb.Helper()
	text, err := c.Text()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "fakenvml.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatalf("fakenvml: %v", err)
	}
	return path
}

func checkString(key, s string) error {
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, "\r\n") || len(s) >= 96 {
		return fmt.Errorf("%s %q: want no surrounding space or newline, under 96 bytes", key, s)
	}
	return nil
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// seconds formats d as the C side parses it back (llround(s*1e9)), and
// checks the round trip is exact.
func seconds(key string, d time.Duration, unit float64) (string, error) {
	s := fmtFloat(float64(d) / unit)
	v, _ := strconv.ParseFloat(s, 64)
	if int64(math.Round(v*unit)) != int64(d) {
		return "", fmt.Errorf("%s %v does not survive the text round trip", key, d)
	}
	return s, nil
}

func (g GPU) write(b *strings.Builder, index int) error {
	name, uuid := g.Name, g.UUID
	if name == "" {
		name = DefaultName
	}
	if uuid == "" {
		uuid = DefaultUUID(index)
	}
	for _, kv := range [][2]string{{"name", name}, {"uuid", uuid}, {"mig_uuid", g.MIGUUID}} {
		if err := checkString(kv[0], kv[1]); err != nil {
			return err
		}
	}
	for _, w := range []float64{g.IdleW, g.BusyW, g.LimitW, g.Duty} {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("power, limit and duty must be finite and >= 0")
		}
	}
	if g.Duty > 1 {
		return fmt.Errorf("duty %v > 1", g.Duty)
	}
	if g.Period < 0 || g.SamplePeriod < 0 {
		return fmt.Errorf("negative period")
	}
	period, err := seconds("period", g.period(), 1e9)
	if err != nil {
		return err
	}
	sp := g.samplePeriod()
	if sp%time.Microsecond != 0 {
		return fmt.Errorf("sample period %v is not a whole number of microseconds", sp)
	}
	samplePeriod, err := seconds("sample period", sp, 1e6)
	if err != nil {
		return err
	}
	lost := "-1"
	if g.LostAfter > 0 {
		if lost, err = seconds("lost after", g.LostAfter, 1e9); err != nil {
			return err
		}
	}
	mode := g.PowerMode
	switch mode {
	case "":
		mode = PowerInstant
	case PowerInstant, PowerAvg1s:
	default:
		return fmt.Errorf("power mode %q: want %q or %q", mode, PowerInstant, PowerAvg1s)
	}
	pids := make([]string, len(g.PIDs))
	for i, p := range g.PIDs {
		if p < 0 || p > math.MaxUint32 {
			return fmt.Errorf("pid %d out of range", p)
		}
		pids[i] = strconv.Itoa(p)
	}
	if len(pids) > 64 {
		return fmt.Errorf("%d pids, at most 64", len(pids))
	}
	fmt.Fprintf(b, "\n[gpu]\nname=%s\nuuid=%s\n", name, uuid)
	fmt.Fprintf(b, "idle_w=%s\nbusy_w=%s\nperiod_s=%s\nduty=%s\n", fmtFloat(g.IdleW), fmtFloat(g.BusyW), period, fmtFloat(g.Duty))
	fmt.Fprintf(b, "counter=%d\nsamples=%d\nsample_period_ms=%s\n", b2i(g.Counter), b2i(g.Samples), samplePeriod)
	fmt.Fprintf(b, "power_mode=%s\nlimit_w=%s\nlost_after_s=%s\n", mode, fmtFloat(g.LimitW), lost)
	fmt.Fprintf(b, "pids=%s\nmig_uuid=%s\ncounter_offset_mj=%d\n", strings.Join(pids, ","), g.MIGUUID, g.CounterOffsetMJ)
	if g.Arch != 0 {
		if g.Arch < 0 || g.Arch > math.MaxUint32 {
			return fmt.Errorf("arch %d out of range", g.Arch)
		}
		fmt.Fprintf(b, "arch=%d\n", g.Arch)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (g GPU) period() time.Duration {
	if g.Period <= 0 {
		return DefaultPeriod
	}
	return g.Period
}

func (g GPU) samplePeriod() time.Duration {
	if g.SamplePeriod <= 0 {
		return DefaultSamplePeriod
	}
	return g.SamplePeriod
}

// busyNs is llround(duty * period_ns), as in the C side.
func (g GPU) busyNs() int64 {
	p := int64(g.period())
	b := int64(math.Round(g.Duty * float64(p)))
	return min(max(b, 0), p)
}

func modFloor(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// PowerAt returns the power in watts the GPU draws at t, exactly as the
// stand-in computes it (on t's integer nanoseconds since the Unix epoch).
func (g GPU) PowerAt(t time.Time) float64 {
	if modFloor(t.UnixNano(), int64(g.period())) < g.busyNs() {
		return g.BusyW
	}
	return g.IdleW
}

// PowerMilliwattsAt is PowerAt rounded to milliwatts, as GetSamples and an
// instant GetPowerUsage report it.
func (g GPU) PowerMilliwattsAt(t time.Time) uint32 {
	return uint32(math.Round(g.PowerAt(t) * 1000))
}

// busyBetween returns the busy nanoseconds in [t0, t1), t0 <= t1.
func (g GPU) busyBetween(t0, t1 int64) int64 {
	p, b := int64(g.period()), g.busyNs()
	upto := func(t int64) int64 { return t/p*b + min(t%p, b) }
	base := t0 - modFloor(t0, p)
	return upto(t1-base) - upto(t0-base)
}

// EnergyBetween returns the exact energy in joules the GPU draws over
// [t0, t1) (negative if t1 is before t0).
func (g GPU) EnergyBetween(t0, t1 time.Time) float64 {
	n0, n1 := t0.UnixNano(), t1.UnixNano()
	if n1 < n0 {
		return -g.EnergyBetween(t1, t0)
	}
	busy := g.busyBetween(n0, n1)
	return (g.IdleW*float64(n1-n0) + (g.BusyW-g.IdleW)*float64(busy)) / 1e9
}

// AvgPowerAt returns the mean power in watts over [t-1s, t), which is what
// GetPowerUsage reports (in mW, rounded) in PowerAvg1s mode.
func (g GPU) AvgPowerAt(t time.Time) float64 {
	return g.EnergyBetween(t.Add(-time.Second), t)
}

// Env returns the environment for a helper process that loads the library
// at lib with the config file at config: pass it to RunInSubprocess.
func Env(lib, config string) []string {
	return []string{EnvLibrary + "=" + lib, EnvConfig + "=" + config}
}

// Library returns the library path passed to this helper process by Env,
// failing tb if there is none.
func Library(tb testing.TB) string {
	tb.Helper()
	lib := os.Getenv(EnvLibrary)
	if lib == "" {
		tb.Fatalf("fakenvml: $%s is not set (pass fakenvml.Env(lib, config) to RunInSubprocess)", EnvLibrary)
	}
	return lib
}

// Scenario returns the scenario this process was started to run by
// RunInSubprocess, or "" in an ordinary test run.
func Scenario() string { return os.Getenv(EnvHelper) }

const helperDone = "fakenvml: helper scenario passed: "

// RunInSubprocess runs scenario in a fresh copy of the test binary, which
// runs only TestHelperProcess (which must call RunHelper), with EnvHelper
// set to scenario and env ("KEY=value", such as Env's) added to this
// process's environment. It returns the helper's combined output, and
// fails tb, showing that output, unless the scenario ran and passed; it
// skips tb if the scenario skipped.
//
// A fresh process gets a clean dynamic linker (go-nvml binds its cgo calls
// to the first library loaded) and reads LD_LIBRARY_PATH anew, so each
// scenario may use its own library and config.
func RunInSubprocess(tb testing.TB, scenario string, env ...string) string {
	tb.Helper()
	if Scenario() != "" {
		tb.Fatalf("fakenvml: RunInSubprocess called inside helper scenario %q", Scenario())
	}
	if scenario == "" {
		tb.Fatal("fakenvml: empty scenario")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1", "-test.timeout=2m")
	// A race-enabled binary sleeps 1 s at exit by default (TSan's
	// atexit_sleep_ms); the helper has nothing left to report by then.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(append(os.Environ(), EnvHelper+"="+scenario, "GORACE="+gorace), env...)
	out, err := cmd.CombinedOutput()
	output := string(out)
	switch {
	case err != nil:
		tb.Fatalf("fakenvml: helper scenario %q failed: %v\n%s", scenario, err, output)
	case strings.Contains(output, helperDone+scenario+"\n"):
	case strings.Contains(output, "--- SKIP: TestHelperProcess"):
		tb.Skipf("fakenvml: helper scenario %q skipped:\n%s", scenario, output)
	default:
		tb.Fatalf("fakenvml: helper scenario %q did not run (does the package's tests define TestHelperProcess calling fakenvml.RunHelper?):\n%s", scenario, output)
	}
	return output
}

// RunHelper is the body of a package's TestHelperProcess. In an ordinary
// test run it returns at once; in a process started by RunInSubprocess it
// runs the named scenario with t (unknown names fail).
//
//	func TestHelperProcess(t *testing.T) { fakenvml.RunHelper(t, scenarios) }
func RunHelper(t *testing.T, scenarios map[string]func(t *testing.T)) {
	name := Scenario()
	if name == "" {
		return
	}
	f, ok := scenarios[name]
	if !ok {
		t.Fatalf("fakenvml: unknown helper scenario %q", name)
	}
	f(t)
	if !t.Failed() && !t.Skipped() {
		fmt.Printf("%s%s\n", helperDone, name)
	}
}
