package powertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/carbontrack/carbontrack/power/internal/fakenvml"
)

// FakeGPU describes one device of the stand-in libnvidia-ml.so.1 that
// BuildFakeNVML compiles: a square wave of power over wall-clock time, with
// or without the energy counter, the sample buffer, a loss after some time
// (see its fields). Its methods PowerAt and EnergyBetween give the exact
// truth the stand-in reports, to compare measured energy with.
type FakeGPU = fakenvml.GPU

// DefaultFakeGPU returns a healthy GPU with every feature on: 60 W idle,
// 300 W busy half of each second, energy counter and sample buffer
// supported, 700 W limit, the UUID of index.
func DefaultFakeGPU(index int) FakeGPU { return fakenvml.DefaultGPU(index) }

// EnvFakeNVMLConfig names the environment variable from which the stand-in
// reads its config file when NVML is initialized.
const EnvFakeNVMLConfig = fakenvml.EnvConfig

// FakeNVML is a stand-in libnvidia-ml.so.1 built by BuildFakeNVML: no GPU
// needed, go-nvml's real cgo path (dlopen, cgo calls) is exercised.
//
// A process must load at most one stand-in library (go-nvml binds its cgo
// calls process-wide to the first library loaded), and its config is read
// from $FAKENVML_CONFIG at NVML's Init: run each scenario that needs its own
// GPUs in its own process, with Env in its environment.
type FakeNVML struct {
	// Library is the path of the built libnvidia-ml.so.1: give it to
	// power.WithNVMLLibrary, tracker.WithNVMLLibrary or --nvml-lib.
	Library string
	// Config is the path of the config file describing the GPUs.
	Config string
}

// Env returns the environment entry ("FAKENVML_CONFIG=...") that points
// the library at f's config; add it to the environment of the process that
// loads the library, before NVML's Init.
func (f FakeNVML) Env() string { return EnvFakeNVMLConfig + "=" + f.Config }

// BuildFakeNVML compiles the stand-in library with gcc (or $CC) into dir as
// libnvidia-ml.so.1 and writes its config, describing gpus (at most 16), as
// fakenvml.conf next to it. It needs Linux and a C compiler: without one
// the error wraps exec.ErrNotFound. It starts no goroutine and is safe for
// concurrent use with distinct dirs.
//
// Tests in package power use the same source (power/internal/fakenvml),
// compiled with the same command.
func BuildFakeNVML(dir string, gpus ...FakeGPU) (FakeNVML, error) {
	if runtime.GOOS != "linux" {
		return FakeNVML{}, fmt.Errorf("powertest: the stand-in libnvidia-ml.so.1 needs Linux, not %s", runtime.GOOS)
	}
	text, err := fakenvml.Config{GPUs: gpus}.Text()
	if err != nil {
		return FakeNVML{}, fmt.Errorf("powertest: %w", err)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	ccPath, err := exec.LookPath(cc)
	if err != nil {
		return FakeNVML{}, fmt.Errorf("powertest: C compiler for the stand-in libnvidia-ml.so.1: %w", err)
	}
	f := FakeNVML{Library: filepath.Join(dir, "libnvidia-ml.so.1"), Config: filepath.Join(dir, "fakenvml.conf")}
	src := filepath.Join(dir, "fakenvml.c")
	if err := os.WriteFile(src, fakenvml.Source(), 0o644); err != nil {
		return FakeNVML{}, fmt.Errorf("powertest: %w", err)
	}
	if err := os.WriteFile(f.Config, []byte(text), 0o644); err != nil {
		return FakeNVML{}, fmt.Errorf("powertest: %w", err)
	}
	// -z nodelete: go-nvml dlcloses the library in Shutdown, but cgo call
	// sites stay bound to its functions, which a later Init must find.
	cmd := exec.Command(ccPath, "-shared", "-fPIC", "-O2", "-Wall", "-pthread",
		"-Wl,-z,nodelete", "-o", f.Library, src, "-lm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return FakeNVML{}, fmt.Errorf("powertest: compiling the stand-in libnvidia-ml.so.1: %w\n%s\n%s", err, cmd, out)
	}
	return f, nil
}
