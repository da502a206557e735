package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
)

const calibrateHelp = `Usage: carbontrack calibrate [flags]

Measures this machine's CPU package power with RAPL, first idle, then with
every logical CPU busy, and writes the two figures with the CPU's model name
and sockets to a small JSON file. Where RAPL cannot be read (a container, a
VM on the same kind of host), carbontrack's CPU estimate then uses them for a
CPU of the same model and sockets instead of the TDP: idle + (full − idle) ×
the Teads load curve's shape, "calibrated on <date>" in its description, with
an uncertainty of ±18 % instead of ±34 % (half of the measurements checked
lay within it; valid for the same machine type only).

Run it on an otherwise idle machine: everything else that runs counts in the
idle figure. It needs RAPL's energy_uj to be readable (root, or see
"carbontrack devices"), and exits 1 without it.

The file is written to --out, else CARBONTRACK_CPU_CALIBRATION, else
carbontrack/cpu-calibration.json under the user's configuration directory
($XDG_CONFIG_HOME or ~/.config). Point CARBONTRACK_CPU_CALIBRATION at a
shared copy for the machines that should use it.

Examples:
  carbontrack calibrate
  carbontrack calibrate --idle 60s --load 60s --out /shared/carbontrack/xeon-6248.json

Flags:
`

func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("calibrate", calibrateHelp, stderr)
	env := f.env
	out := f.String("out", "", env("out", power.EnvCPUCalibration, "file to write (default: the user's config dir, carbontrack/cpu-calibration.json)"))
	idle := f.Duration("idle", 30*time.Second, "how long to measure idle power")
	load := f.Duration("load", 30*time.Second, "how long to measure full-load power (every logical CPU busy)")
	sysfsRoot := f.String("sysfs-root", "", env("sysfs-root", power.EnvSysfsRoot, "sysfs root for RAPL"))
	procRoot := f.String("proc-root", "", env("proc-root", power.EnvProcRoot, "procfs root for cpuinfo"))
	if code, ok := f.parseNoArgs(args); !ok {
		return code
	}
	if *idle <= 0 || *load <= 0 {
		return f.usageError("--idle and --load must be positive")
	}
	path := *out
	if path == "" {
		p, err := power.DefaultCPUCalibrationPath()
		if err != nil {
			fmt.Fprintf(stderr, "carbontrack calibrate: %s; give --out\n", plainError(err))
			return 1
		}
		path = p
	}
	if path == power.CPUCalibrationOff {
		return f.usageError("%q turns calibrations off (%s): give --out FILE to write one", path, power.EnvCPUCalibration)
	}
	// Where the file goes is checked before minutes of measuring.
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return f.usageError("%s %q is a directory: give the calibration file's path", f.what("out"), path)
	}
	if st, err := os.Stat(filepath.Dir(path)); err == nil && !st.IsDir() {
		return f.usageError("%s %q: %s is not a directory", f.what("out"), path, filepath.Dir(path))
	}
	id, err := power.ReadCPUIdentity(ctx, *procRoot)
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack calibrate: %s\n", plainError(err))
		return 1
	}
	d, err := power.Discover(ctx, power.WithKinds(power.KindCPU), power.WithSysfsRoot(*sysfsRoot),
		power.WithProcRoot(*procRoot), power.WithCPUCalibration(""))
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack calibrate: %s\n", plainError(err))
		return 1
	}
	defer d.Close()
	var pkgs []power.Source
	for _, s := range d.Sources {
		if i := s.Info(); i.Method == power.MethodCounter && strings.HasPrefix(i.Name, "cpu:package") {
			pkgs = append(pkgs, s)
		}
	}
	if len(pkgs) == 0 {
		fmt.Fprintln(stderr, "carbontrack calibrate: no readable RAPL package counter here, so nothing to calibrate with; run it where RAPL is readable (as root, or see 'carbontrack devices').")
		for _, u := range d.Unavailable {
			if strings.HasPrefix(u.Name, "rapl") || strings.HasPrefix(u.Name, "cpu:package") {
				fmt.Fprintf(stderr, "  %s: %s\n", u.Name, unavailableReason(u))
			}
		}
		return 1
	}

	fmt.Fprintf(stdout, "Calibrating %s (%d socket(s), %d logical CPUs) with %d RAPL package(s).\n", id.Model, id.Sockets, id.LogicalCPUs, len(pkgs))
	fmt.Fprintf(stdout, "Idle for %v...\n", *idle)
	idleW, idleS, err := meanPackagePower(ctx, pkgs, *idle, 0)
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack calibrate: %s\n", plainError(err))
		return 1
	}
	// Every CPU the process may run on, whatever GOMAXPROCS a cgroup's
	// CPU quota gave it.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.NumCPU()))
	fmt.Fprintf(stdout, "Full load on %d CPUs for %v...\n", runtime.NumCPU(), *load)
	fullW, fullS, err := meanPackagePower(ctx, pkgs, *load, runtime.NumCPU())
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack calibrate: %s\n", plainError(err))
		return 1
	}
	c := power.CPUCalibration{CPUModel: id.Model, Sockets: id.Sockets, LogicalCPUs: id.LogicalCPUs,
		IdleW: idleW, FullW: fullW, IdleS: idleS, FullS: fullS, MeasuredAt: time.Now().UTC().Truncate(time.Second),
		Version: tracker.Version}
	if err := power.WriteCPUCalibration(path, c); err != nil {
		fmt.Fprintf(stderr, "carbontrack calibrate: %s\n", plainError(err))
		return 1
	}
	fmt.Fprintf(stdout, "Idle %.1f W, full load %.1f W (all packages). Written to %s.\n", idleW, fullW, path)
	return 0
}

// meanPackagePower returns the packages' mean power together over d, with
// busy goroutines spinning meanwhile (0: none), and the seconds measured.
func meanPackagePower(ctx context.Context, pkgs []power.Source, d time.Duration, busy int) (float64, float64, error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range busy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for range 1 << 16 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	e0, err := packageEnergy(ctx, pkgs)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-timer.C:
	}
	e1, err := packageEnergy(ctx, pkgs)
	if err != nil {
		return 0, 0, err
	}
	s := time.Since(t0).Seconds()
	if s <= 0 {
		return 0, 0, errors.New("no time measured")
	}
	return float64(e1-e0) / s, s, nil
}

// packageEnergy reads the packages' cumulative energy, summed.
func packageEnergy(ctx context.Context, pkgs []power.Source) (power.Joules, error) {
	var sum power.Joules
	var r power.Reading
	for _, p := range pkgs {
		if err := p.Read(ctx, &r); err != nil {
			return 0, fmt.Errorf("reading %s: %w", p.Info().Name, err)
		}
		if r.Reset {
			return 0, fmt.Errorf("%s: the counter was reset; run again", p.Info().Name)
		}
		sum += r.Energy
	}
	return sum, nil
}
