//go:build linux

// Command overhead measures carbontrack's own CPU cost while it tracks an
// idle job, and how soon carbontrack run starts its command, so anyone can
// check the figures on their machine:
//
//	go run ./bench/overhead -duration 2m -rounds 3 [-gpus 8] [-config default,interval30s,interval1s,gpus-only,logged,cli,cli-startup|all] [-startup-runs 7] [-json]
//
// Per configuration it reports CPU seconds per hour tracked and context
// switches (wake-ups) per second, each the median over rounds, and the CPU
// time as a multiple of the floor's:
//
//   - floor: a bare Go program that only runs a 1 s time.Ticker (./floor,
//     no carbontrack, no C): what any Go process with a periodic timer costs.
//   - default, interval1s, gpus-only: the library, tracker.New(1,
//     tracker.WithNVMLLibrary(stand-in), ...) with the configuration's
//     options (trackerOptions), then EpochStart and an idle job (a sleep).
//     The window runs from New's return to just before EpochEnd and Stop.
//     Start-up is reported on its own: wall time from exec to New returning,
//     New alone, CPU time until then, peak RSS (VmHWM) then.
//   - cli: carbontrack run --nvml-lib <stand-in> -- sleep D, built from
//     ./cmd/carbontrack, read from outside over the sleep (from when the
//     sleep has started to a second before it ends).
//   - cli-startup: no window, no CPU row; how soon carbontrack run starts its
//     command, and its peak RSS, for both builds of the CLI (./cmd/carbontrack
//     and ./cmd/carbontrack-full): carbontrack run --nvml-lib <stand-in>
//     --log-dir <tmp> -- <stamp>, where the stamp is a C program (compiled
//     with gcc) that prints the wall clock and exits. Exec to command start is
//     the stamp's clock less the clock just before exec; peak RSS is wait4's
//     Maxrss. Each round runs each build -startup-runs times, alternating,
//     each run paired with one under GODEBUG=inittrace=1 for the time from
//     the Go runtime's start to main; medians, min and max over all runs.
//     The floor runs only when a configuration with a window is chosen.
//
// How: the GPUs are a C stand-in for libnvidia-ml.so.1 with energy counters
// (power/internal/fakenvml, compiled with gcc by powertest.BuildFakeNVML
// into a temporary directory), read through go-nvml's real cgo path; CPU and
// RAM are whatever the machine offers (RAPL, or the estimates). Every
// measurement is its own child process: the floor binary, or this program
// re-executed with $OVERHEAD_CHILD set, each reading its own CPU time (user +
// system) and voluntary + involuntary context switches, over all its
// threads, with getrusage(RUSAGE_SELF) at both ends of the window and
// printing them as JSON on its last line of stdout. The cli row sums the
// carbontrack process's threads in /proc/<pid>/task (schedstat: CPU time in
// ns; status: context switches). Runs are sequential and interleaved by
// round (floor, then each configuration), so a drift of the machine hits
// every row alike. It needs Linux, gcc and the go command (run it from
// inside the module).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

// floorName is the row of the bare Go program.
const floorName = "floor"

// configNames returns the configurations, in the order of the table.
func configNames() []string {
	return []string{"default", "interval30s", "interval1s", "gpus-only", "logged", "cli", startupName}
}

// describe says what a row runs.
func describe(name string) string {
	switch name {
	case floorName:
		return "Go program, 1 s time.Ticker only"
	case "default":
		return "tracker.New defaults"
	case "interval30s":
		return "tracker.WithInterval(30 * time.Second)"
	case "interval1s":
		return "tracker.WithInterval(1 * time.Second)"
	case "logged":
		return "tracker.WithLogDir(tmp): logs, checkpoints every 10 s"
	case "gpus-only":
		return "tracker.WithComponents(power.KindGPU)"
	case "cli":
		return "carbontrack run -- sleep (default flags)"
	case startupName:
		return "carbontrack and carbontrack-full run -- stamp: start-up and peak RSS"
	}
	return ""
}

// trackerOptions returns the options of a library configuration beyond
// WithNVMLLibrary, and whether name is one.
func trackerOptions(name string) ([]tracker.Option, bool) {
	switch name {
	case "default":
		return nil, true
	case "interval30s":
		return []tracker.Option{tracker.WithInterval(30 * time.Second)}, true
	case "interval1s":
		return []tracker.Option{tracker.WithInterval(time.Second)}, true
	case "logged":
		dir, err := os.MkdirTemp("", "overhead-logs-")
		if err != nil {
			return nil, false
		}
		return []tracker.Option{tracker.WithLogDir(dir)}, true
	case "gpus-only":
		return []tracker.Option{tracker.WithComponents(power.KindGPU)}, true
	}
	return nil, false
}

// sample is one measured window of one child process.
type sample struct {
	WallS       float64 `json:"wall_s"`
	CPUS        float64 `json:"cpu_s"` // user + system
	UserS       float64 `json:"user_s,omitempty"`
	SysS        float64 `json:"sys_s,omitempty"`
	Voluntary   int64   `json:"voluntary_ctx_switches"`
	Involuntary int64   `json:"involuntary_ctx_switches"`
	// Library only: start-up, and what was measured.
	StartupS     float64  `json:"startup_s,omitempty"`      // exec to New returning, wall
	NewS         float64  `json:"new_s,omitempty"`          // the New call alone, wall
	StartupCPUS  float64  `json:"startup_cpu_s,omitempty"`  // CPU time until New returned
	PeakRSSBytes int64    `json:"peak_rss_bytes,omitempty"` // VmHWM when New returned
	EndRSSBytes  int64    `json:"end_peak_rss_bytes,omitempty"`
	Sources      []string `json:"sources,omitempty"` // "kind:name (method)"
}

func (s sample) cpuPerHour() float64   { return s.CPUS / s.WallS * 3600 }
func (s sample) switchesPerS() float64 { return float64(s.Voluntary+s.Involuntary) / s.WallS }

// row is one configuration's result.
type row struct {
	Config            string   `json:"config"`
	What              string   `json:"what"`
	CPUSecondsPerHour float64  `json:"cpu_s_per_hour"`     // median over rounds
	CtxSwitchesPerS   float64  `json:"ctx_switches_per_s"` // median over rounds
	RatioToFloor      float64  `json:"cpu_ratio_to_floor"`
	Startup           *startup `json:"startup,omitempty"`
	Runs              []sample `json:"runs"`
}

// startup is the library's start-up, medians over rounds.
type startup struct {
	ToNewS       float64 `json:"exec_to_new_s"`
	NewS         float64 `json:"new_s"`
	CPUS         float64 `json:"cpu_s"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
}

// machine describes where the figures were measured.
type machine struct {
	CPU    string `json:"cpu"`
	NProc  int    `json:"nproc"`
	Go     string `json:"go"`
	OS     string `json:"os"`
	Kernel string `json:"kernel,omitempty"`
}

type result struct {
	Machine   machine   `json:"machine"`
	Date      time.Time `json:"date"`
	DurationS float64   `json:"duration_s"`
	Rounds    int       `json:"rounds"`
	GPUs      int       `json:"gpus"`
	Rows      []row     `json:"rows"`
	// CLIStartup is the cli-startup configuration's result.
	CLIStartup *cliStartup `json:"cli_startup,omitempty"`
}

func main() {
	if spec := os.Getenv(envChild); spec != "" {
		if err := runChild(spec, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "overhead child:", err)
			os.Exit(1)
		}
		return
	}
	// Ctrl-C ends the children (exec.CommandContext) and removes the
	// temporary directory.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("overhead", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 2*time.Minute, "length of each measured window (at least 5s)")
	rounds := fs.Int("rounds", 3, "rounds; each runs the floor and every configuration once")
	gpus := fs.Int("gpus", 8, "stand-in GPUs, with energy counters (0 to 16)")
	configs := fs.String("config", "default", "comma-separated configurations: "+strings.Join(configNames(), ", ")+", or all")
	startupRuns := fs.Int("startup-runs", 7, "cli-startup: runs of each build per round")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	names, err := parseConfigs(*configs)
	switch {
	case err != nil:
		return err
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *duration < 5*time.Second:
		return fmt.Errorf("-duration %v: at least 5s", *duration)
	case *rounds < 1:
		return fmt.Errorf("-rounds %d: at least 1", *rounds)
	case *gpus < 0 || *gpus > 16:
		return fmt.Errorf("-gpus %d: 0 to 16", *gpus)
	case *startupRuns < 1:
		return fmt.Errorf("-startup-runs %d: at least 1", *startupRuns)
	}
	startupChosen := slices.Contains(names, startupName)
	names = slices.DeleteFunc(names, func(n string) bool { return n == startupName })

	dir, err := os.MkdirTemp("", "carbontrack-overhead-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gpuList := make([]powertest.FakeGPU, *gpus)
	for i := range gpuList {
		gpuList[i] = powertest.DefaultFakeGPU(i)
	}
	nv, err := powertest.BuildFakeNVML(dir, gpuList...)
	if err != nil {
		return err
	}
	var all []string // the rows with a window
	var floorBin string
	if len(names) > 0 {
		all = append([]string{floorName}, names...)
		if floorBin, err = goBuild(ctx, dir, "floor", "github.com/carbontrack/carbontrack/bench/overhead/floor"); err != nil {
			return err
		}
	}
	var cliBin string
	if slices.Contains(names, "cli") {
		if cliBin, err = goBuild(ctx, dir, "carbontrack", "github.com/carbontrack/carbontrack/cmd/carbontrack"); err != nil {
			return err
		}
	}

	var sb *startupBench
	if startupChosen {
		if sb, err = newStartupBench(ctx, dir, nv, *startupRuns); err != nil {
			return err
		}
	}

	total := time.Duration(*rounds*len(all)) * (*duration)
	if len(all) > 0 {
		fmt.Fprintf(stderr, "overhead: %d round(s) × %d runs of %v: %v\n", *rounds, len(all), *duration, total)
	}
	runs := make(map[string][]sample)
	for r := 1; r <= *rounds; r++ {
		if sb != nil {
			err := sb.round(ctx, r, *rounds, stderr)
			if ctx.Err() != nil {
				return errors.New("interrupted")
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r, startupName, err)
			}
		}
		for _, name := range all {
			var s sample
			switch name {
			case floorName:
				s, err = measureProcess(exec.CommandContext(ctx, floorBin, "-duration", duration.String()))
			case "cli":
				s, err = measureCLI(ctx, cliBin, nv, *duration, filepath.Join(dir, fmt.Sprintf("logs-%d", r)))
			default:
				s, err = measureTracker(ctx, childSpec{Config: name, Duration: *duration, Library: nv.Library, GPUs: *gpus}, nv)
			}
			if ctx.Err() != nil {
				return errors.New("interrupted")
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r, name, err)
			}
			fmt.Fprintf(stderr, "round %d/%d %-10s %8.3f CPU s/hour %8.1f ctx switches/s\n", r, *rounds, name,
				s.cpuPerHour(), s.switchesPerS())
			runs[name] = append(runs[name], s)
		}
	}

	res := result{Machine: describeMachine(), Date: time.Now().UTC().Truncate(time.Second),
		DurationS: duration.Seconds(), Rounds: *rounds, GPUs: *gpus}
	for _, name := range all {
		res.Rows = append(res.Rows, summarize(name, runs[name]))
	}
	if sb != nil {
		if res.CLIStartup, err = sb.result(); err != nil {
			return err
		}
	}
	for i := range res.Rows {
		if floor := res.Rows[0].CPUSecondsPerHour; floor > 0 {
			res.Rows[i].RatioToFloor = res.Rows[i].CPUSecondsPerHour / floor
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printTable(stdout, res)
	return nil
}

func parseConfigs(s string) ([]string, error) {
	if s == "all" {
		return configNames(), nil
	}
	var names []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(configNames(), n) {
			return nil, fmt.Errorf("-config %q: want %s or all", n, strings.Join(configNames(), ", "))
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// goBuild builds the package pkg of this module into dir/name.
func goBuild(ctx context.Context, dir, name, pkg string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", cmd, err, b)
	}
	return out, nil
}

// measureTracker runs a library configuration in a child process: this
// program re-executed with the spec in $OVERHEAD_CHILD.
func measureTracker(ctx context.Context, spec childSpec, nv powertest.FakeNVML) (sample, error) {
	self, err := os.Executable()
	if err != nil {
		return sample{}, err
	}
	cmd := exec.CommandContext(ctx, self)
	spec.ExecUnixNano = time.Now().UnixNano()
	b, err := json.Marshal(spec)
	if err != nil {
		return sample{}, err
	}
	cmd.Env = childEnv(envChild+"="+string(b), nv.Env())
	return measureProcess(cmd)
}

// measureProcess runs cmd, a child that measures itself and prints its
// sample as JSON on its last line of output.
func measureProcess(cmd *exec.Cmd) (sample, error) {
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if cmd.Env == nil {
		cmd.Env = childEnv()
	}
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%w\n%s%s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var s sample
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		return sample{}, fmt.Errorf("reading the child's result: %w\n%s%s", err, stdout.String(), stderr.String())
	}
	return s, nil
}

// childEnv returns this process's environment without the variables that
// would change what carbontrack measures (CARBONTRACK_*, CUDA_*), plus
// extra.
func childEnv(extra ...string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "CARBONTRACK_") || strings.HasPrefix(kv, "CUDA_") ||
			strings.HasPrefix(kv, envChild+"=") || strings.HasPrefix(kv, powertest.EnvFakeNVMLConfig+"=")
	})
	return append(env, extra...)
}

// summarize takes the medians of a configuration's runs.
func summarize(name string, runs []sample) row {
	r := row{Config: name, What: describe(name), Runs: runs}
	r.CPUSecondsPerHour = median(runs, sample.cpuPerHour)
	r.CtxSwitchesPerS = median(runs, sample.switchesPerS)
	if _, lib := trackerOptions(name); lib {
		r.Startup = &startup{
			ToNewS:       median(runs, func(s sample) float64 { return s.StartupS }),
			NewS:         median(runs, func(s sample) float64 { return s.NewS }),
			CPUS:         median(runs, func(s sample) float64 { return s.StartupCPUS }),
			PeakRSSBytes: int64(median(runs, func(s sample) float64 { return float64(s.PeakRSSBytes) })),
		}
	}
	return r
}

func median(runs []sample, f func(sample) float64) float64 {
	v := make([]float64, len(runs))
	for i, s := range runs {
		v[i] = f(s)
	}
	return spreadOf(v).Median
}

func printTable(w io.Writer, res result) {
	m := res.Machine
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s, %s, %s\n", m.CPU, m.NProc, m.Go, m.OS, m.Kernel)
	if len(res.Rows) == 0 {
		fmt.Fprintf(w, "%s: %d stand-in GPUs with energy counters; %d round(s)\n\n", res.Date.Format(time.DateOnly), res.GPUs, res.Rounds)
	} else {
		fmt.Fprintf(w, "%s: %d stand-in GPUs with energy counters; median of %d round(s) of %v, start-up excluded\n\n",
			res.Date.Format(time.DateOnly), res.GPUs, res.Rounds, time.Duration(res.DurationS*float64(time.Second)))
		fmt.Fprintf(w, "%-14s %10s %15s %8s  %s\n", "configuration", "CPU s/hour", "ctx switches/s", "x floor", "what")
	}
	for _, r := range res.Rows {
		fmt.Fprintf(w, "%-14s %10.3f %15.1f %8.1f  %s\n", r.Config, r.CPUSecondsPerHour, r.CtxSwitchesPerS, r.RatioToFloor, r.What)
	}
	header := true
	for _, r := range res.Rows {
		if r.Startup == nil {
			continue
		}
		if header {
			fmt.Fprintf(w, "\nstart-up of the library (median):\n%-14s %20s %10s %10s %10s\n",
				"configuration", "exec to New returned", "New alone", "CPU time", "peak RSS")
			header = false
		}
		s := r.Startup
		fmt.Fprintf(w, "%-14s %17.0f ms %7.0f ms %7.0f ms %6.1f MiB\n", r.Config, 1000*s.ToNewS, 1000*s.NewS, 1000*s.CPUS,
			float64(s.PeakRSSBytes)/(1<<20))
	}
	if res.CLIStartup != nil {
		if len(res.Rows) > 0 {
			fmt.Fprintln(w)
		}
		printStartup(w, res.CLIStartup)
	}
}

func describeMachine() machine {
	m := machine{CPU: "unknown", NProc: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}
