//go:build linux

package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carbontrack/carbontrack/power/powertest"
)

// startupName is the configuration that measures how soon carbontrack run
// starts its command, and its peak RSS, for both builds of the CLI.
const startupName = "cli-startup"

// startupBuilds are the builds of internal/cli that cli-startup compares.
var startupBuilds = []struct{ name, pkg string }{
	{"carbontrack", "github.com/carbontrack/carbontrack/cmd/carbontrack"},
	{"carbontrack-full", "github.com/carbontrack/carbontrack/cmd/carbontrack-full"},
}

// heavyModules are the modules the lean build is meant to leave out.
var heavyModules = []string{"gonum.org/v1/plot", "github.com/prometheus/client_golang"}

// linkedHeavy returns the heavy modules that the binary at path links,
// from its build information.
func linkedHeavy(path string) ([]string, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, err
	}
	linked := []string{}
	for _, m := range heavyModules {
		if slices.ContainsFunc(info.Deps, func(d *debug.Module) bool { return d.Path == m }) {
			linked = append(linked, m)
		}
	}
	return linked, nil
}

// stampPrefix starts the line the stamp prints, so that its number cannot be
// confused with anything else on carbontrack's stdout.
const stampPrefix = "carbontrack-overhead-stamp "

// stampSource is the command that cli-startup runs: it prints the wall clock
// (CLOCK_REALTIME, ns) as soon as its main runs, and exits.
const stampSource = `#include <stdio.h>
#include <time.h>

int main(void) {
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 1;
	printf("` + stampPrefix + `%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}
`

// buildStamp compiles the stamp with gcc (or $CC) into dir/stamp.
func buildStamp(ctx context.Context, dir string) (string, error) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	src, bin := filepath.Join(dir, "stamp.c"), filepath.Join(dir, "stamp")
	if err := os.WriteFile(src, []byte(stampSource), 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, cc, "-O2", "-Wall", "-o", bin, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("compiling the stamp: %s: %w\n%s", cmd, err, b)
	}
	return bin, nil
}

// parseStamp returns the stamp's clock, in ns since the epoch, from the
// stdout of carbontrack run: exactly one line must be the stamp's.
func parseStamp(stdout string) (int64, error) {
	var ns int64
	found := 0
	for _, line := range strings.Split(stdout, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), strings.TrimSpace(stampPrefix))
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("the stamp's line %q: not a time in ns", line)
		}
		ns, found = n, found+1
	}
	switch found {
	case 0:
		return 0, fmt.Errorf("no line of the stamp on stdout: %q", stdout)
	case 1:
		return ns, nil
	}
	return 0, fmt.Errorf("%d lines of the stamp on stdout, want 1: %q", found, stdout)
}

// parseInittrace returns the time from the Go runtime's start to the end of
// the last package initialisation, which is when main.main starts, from the
// lines GODEBUG=inittrace=1 writes to stderr:
//
//	init internal/cli @2.1 ms, 0.05 ms clock, 1234 bytes, 37 allocs
//
// Other lines (carbontrack's report) are skipped.
func parseInittrace(stderr string) (time.Duration, error) {
	var end float64
	found := false
	for _, line := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(line, "init ")
		if !ok {
			continue
		}
		_, rest, ok = strings.Cut(rest, " @")
		if !ok {
			continue
		}
		at, rest, ok := strings.Cut(rest, " ms, ")
		if !ok {
			continue
		}
		clock, _, ok := strings.Cut(rest, " ms clock")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseFloat(at, 64)
		c, err2 := strconv.ParseFloat(clock, 64)
		if err := errors.Join(err1, err2); err != nil {
			return 0, fmt.Errorf("inittrace line %q: %w", line, err)
		}
		end, found = max(end, a+c), true
	}
	if !found {
		return 0, errors.New("no GODEBUG=inittrace=1 lines on stderr")
	}
	return time.Duration(end * float64(time.Millisecond)), nil
}

// withGODEBUG returns env with setting added to $GODEBUG.
func withGODEBUG(env []string, setting string) []string {
	env = slices.Clone(env)
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if v != "" {
				setting = v + "," + setting
			}
			env[i] = "GODEBUG=" + setting
			return env
		}
	}
	return append(env, "GODEBUG="+setting)
}

// startupRun is one run of carbontrack run -- stamp.
type startupRun struct {
	ExecToCommandS float64 `json:"exec_to_command_s"` // stamp's clock − clock before cmd.Start
	ExecToExitS    float64 `json:"exec_to_exit_s"`    // until carbontrack run was reaped
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`    // Maxrss of wait4
	// RuntimeToMainS is from a second run with GODEBUG=inittrace=1, made
	// right after this one: the runtime's start to the end of the last
	// package initialisation.
	RuntimeToMainS float64 `json:"runtime_to_main_s"`
}

// measureStartup runs bin run --nvml-lib <stand-in> --log-dir logDir --
// stamp, with carbontrack's default flags otherwise, and the environment of
// the cli row. With trace, GODEBUG=inittrace=1 is set and RuntimeToMainS
// read from stderr.
func measureStartup(ctx context.Context, bin, stamp string, nv powertest.FakeNVML, logDir string, trace bool) (startupRun, error) {
	cmd := exec.CommandContext(ctx, bin, "run", "--nvml-lib", nv.Library, "--log-dir", logDir, "--", stamp)
	cmd.Env = childEnv(nv.Env())
	if trace {
		cmd.Env = withGODEBUG(cmd.Env, "inittrace=1")
	}
	// carbontrack's report goes to stderr; the stamp writes to the stdout
	// it inherits from carbontrack, this pipe.
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return startupRun{}, err
	}
	err := cmd.Wait()
	exit := time.Since(t0)
	if err != nil {
		return startupRun{}, fmt.Errorf("%s: %w\n%s%s", cmd, err, stdout.String(), stderr.String())
	}
	ns, err := parseStamp(stdout.String())
	if err != nil {
		return startupRun{}, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	r := startupRun{ExecToCommandS: float64(ns-t0.UnixNano()) / 1e9, ExecToExitS: exit.Seconds()}
	// Maxrss of wait4 (KiB on Linux) is the largest of carbontrack's and
	// of the children it reaped: the stamp's is about 1 MiB, so this is
	// carbontrack's peak.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSBytes = ru.Maxrss << 10
	}
	if trace {
		d, err := parseInittrace(stderr.String())
		if err != nil {
			return startupRun{}, err
		}
		r.RuntimeToMainS = d.Seconds()
	}
	return r, nil
}

// spread is the median, least and greatest of some values.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{}
	}
	v = slices.Clone(v)
	slices.Sort(v)
	s := spread{Median: v[len(v)/2], Min: v[0], Max: v[len(v)-1]}
	if n := len(v); n%2 == 0 {
		s.Median = (v[n/2-1] + v[n/2]) / 2
	}
	return s
}

// buildStartup is one build's start-up, over all runs of all rounds.
type buildStartup struct {
	Build          string       `json:"build"`
	BinaryBytes    int64        `json:"binary_bytes"`
	HeavyModules   []string     `json:"heavy_modules"` // those of heavyModules it links
	ExecToCommandS spread       `json:"exec_to_command_s"`
	ExecToExitS    spread       `json:"exec_to_exit_s"`
	PeakRSSBytes   spread       `json:"peak_rss_bytes"`
	RuntimeToMainS spread       `json:"runtime_to_main_s"`
	Runs           []startupRun `json:"runs"`
}

// cliStartup is the result of the cli-startup configuration.
type cliStartup struct {
	Command      string         `json:"command"`
	RunsPerRound int            `json:"runs_per_round"`
	Builds       []buildStartup `json:"builds"`
}

// summarizeStartup takes the spreads of a build's runs.
func summarizeStartup(build string, binaryBytes int64, runs []startupRun) buildStartup {
	col := func(f func(startupRun) float64) spread {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return spreadOf(v)
	}
	return buildStartup{
		Build: build, BinaryBytes: binaryBytes, Runs: runs,
		ExecToCommandS: col(func(r startupRun) float64 { return r.ExecToCommandS }),
		ExecToExitS:    col(func(r startupRun) float64 { return r.ExecToExitS }),
		PeakRSSBytes:   col(func(r startupRun) float64 { return float64(r.PeakRSSBytes) }),
		RuntimeToMainS: col(func(r startupRun) float64 { return r.RuntimeToMainS }),
	}
}

// startupBench runs cli-startup: it builds both CLIs and the stamp into dir,
// runs each build once to warm the caches (not counted), and then, per
// round, perRound pairs of runs (a plain one and one traced) of each build,
// alternating builds.
type startupBench struct {
	dir, stamp string
	nv         powertest.FakeNVML
	bins       []string
	perRound   int
	runs       [][]startupRun // per build
}

func newStartupBench(ctx context.Context, dir string, nv powertest.FakeNVML, perRound int) (*startupBench, error) {
	b := &startupBench{dir: dir, nv: nv, perRound: perRound, runs: make([][]startupRun, len(startupBuilds))}
	var err error
	if b.stamp, err = buildStamp(ctx, dir); err != nil {
		return nil, err
	}
	for _, build := range startupBuilds {
		bin, err := goBuild(ctx, dir, build.name, build.pkg)
		if err != nil {
			return nil, err
		}
		b.bins = append(b.bins, bin)
	}
	for i, bin := range b.bins {
		if _, err := measureStartup(ctx, bin, b.stamp, nv, b.logDir(0, i, 0), false); err != nil {
			return nil, fmt.Errorf("%s, warm-up: %w", startupBuilds[i].name, err)
		}
	}
	return b, nil
}

func (b *startupBench) logDir(round, build, n int) string {
	return filepath.Join(b.dir, fmt.Sprintf("startup-logs-%d-%s-%d", round, startupBuilds[build].name, n))
}

// round runs one round and writes a line per build to progress.
func (b *startupBench) round(ctx context.Context, r, rounds int, progress io.Writer) error {
	got := make([][]startupRun, len(b.bins))
	for n := range b.perRound {
		for i, bin := range b.bins {
			run, err := measureStartup(ctx, bin, b.stamp, b.nv, b.logDir(r, i, 2*n), false)
			if err != nil {
				return fmt.Errorf("%s: %w", startupBuilds[i].name, err)
			}
			traced, err := measureStartup(ctx, bin, b.stamp, b.nv, b.logDir(r, i, 2*n+1), true)
			if err != nil {
				return fmt.Errorf("%s, GODEBUG=inittrace=1: %w", startupBuilds[i].name, err)
			}
			run.RuntimeToMainS = traced.RuntimeToMainS
			got[i] = append(got[i], run)
		}
	}
	for i, runs := range got {
		s := summarizeStartup(startupBuilds[i].name, 0, runs)
		fmt.Fprintf(progress, "round %d/%d %s %-16s %6.1f ms exec to command, %5.1f MiB peak RSS (median of %d)\n",
			r, rounds, startupName, startupBuilds[i].name, 1000*s.ExecToCommandS.Median, s.PeakRSSBytes.Median/(1<<20), len(runs))
		b.runs[i] = append(b.runs[i], runs...)
	}
	return nil
}

func (b *startupBench) result() (*cliStartup, error) {
	res := &cliStartup{Command: "BUILD run --nvml-lib <stand-in> --log-dir <tmp> -- <stamp>", RunsPerRound: b.perRound}
	for i, bin := range b.bins {
		fi, err := os.Stat(bin)
		if err != nil {
			return nil, err
		}
		s := summarizeStartup(startupBuilds[i].name, fi.Size(), b.runs[i])
		if s.HeavyModules, err = linkedHeavy(bin); err != nil {
			return nil, err
		}
		res.Builds = append(res.Builds, s)
	}
	return res, nil
}

func printStartup(w io.Writer, s *cliStartup) {
	n := 0
	if len(s.Builds) > 0 {
		n = len(s.Builds[0].Runs)
	}
	ms := func(v spread) string {
		return fmt.Sprintf("%6.1f ms (%.1f-%.1f)", 1000*v.Median, 1000*v.Min, 1000*v.Max)
	}
	fmt.Fprintf(w, "start-up of carbontrack run -- COMMAND (median of %d, min-max):\n", n)
	fmt.Fprintf(w, "%-17s %-24s %-24s %-22s %-22s %s\n", "build", "exec to command start", "exec to exit",
		"runtime to main", "peak RSS", "binary")
	for _, b := range s.Builds {
		rss := fmt.Sprintf("%5.1f MiB (%.1f-%.1f)", b.PeakRSSBytes.Median/(1<<20), b.PeakRSSBytes.Min/(1<<20),
			b.PeakRSSBytes.Max/(1<<20))
		fmt.Fprintf(w, "%-17s %-24s %-24s %-22s %-22s %5.1f MB\n", b.Build, ms(b.ExecToCommandS), ms(b.ExecToExitS),
			ms(b.RuntimeToMainS), rss, float64(b.BinaryBytes)/1e6)
	}
	for _, b := range s.Builds {
		links := "none of " + strings.Join(heavyModules, ", ")
		if len(b.HeavyModules) > 0 {
			links = strings.Join(b.HeavyModules, ", ")
		}
		fmt.Fprintf(w, "%s links %s\n", b.Build, links)
	}
}
