package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/term"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

const runHelp = `Usage: carbontrack run [flags] [--] COMMAND [ARGS...]

Runs COMMAND (directly, never through a shell) and measures the energy and
carbon emissions of this machine from just before the command starts until
it exits; with --process, only those of the GPUs its process tree uses and
of its share of the CPU and memory, from just after it starts (its devices
are found once its pid is known). Stdin, stdout and stderr pass through
unchanged; SIGTERM is passed on to the command, and so are SIGINT, SIGQUIT
and SIGHUP unless they came from the terminal, which sends them to the
command itself (a third Ctrl-C kills it). carbontrack exits with the
command's exit code, or 128+N when signal N killed it (127: command not
found; 126: not executable; 2: bad flags; 1: cannot measure); a Ctrl-C or
SIGTERM before the command started exits with 130 or 143 without starting
it.

Known limit: a signal does not say who sent it, so carbontrack guesses. When
it is in its terminal's foreground process group (run from an interactive
shell, not in the background), it takes a SIGINT, SIGQUIT or SIGHUP as the
terminal's, which the command got too, and does not pass it on; a
"kill -INT <carbontrack's pid>" from elsewhere then does not reach the
command. Signal the command itself, or use SIGTERM, which is always passed
on.

If carbontrack itself is killed (SIGKILL, the OOM killer), the command gets
SIGTERM on Linux, rather than run on unmeasured; --keep-command leaves it
running. Only the command gets it, not its children: a shell script should
exec the training.

The whole run is one epoch unless the command's output marks its epochs;
--epochs says how many there are, for the projection printed after the
first epoch. Each line the command prints (stdout or stderr) is matched as
a terminal shows it: colours left out, the text after its last carriage
return. With --epoch-pattern REGEX, a matching line ends an epoch and
starts the next. With --epoch-start-pattern REGEX, a matching line starts
an epoch, ending the open one: Keras' "Epoch 1/10" comes when an epoch
begins, and taken for an end it makes the first epoch a moment. With both,
starts and ends are taken as printed. The epoch open when the command exits
is complete if it exited with 0 and a start opened it (or, with ends only,
if it is the last), interrupted otherwise. --epochs-from NAME reads what a
trainer prints, progress-bar redraws included (an epoch number redrawn
counts once):
{{presets}}
--epochs-from excludes the patterns; given on the command line, either wins
over the other's environment variable. When the first epoch lasts under 1 %
of the time from its start to the end of the second, a warning says the
marks look wrong. When carbontrack reads the command's output (epochs, or
the status line) the command writes to pipes, not to the terminal: run
Python with -u (or PYTHONUNBUFFERED=1) so its lines arrive when printed.

On a terminal a status line on stderr shows the elapsed time, the power now
by component, the energy (kWh, PUE included), the emissions and the
projection. It is drawn only when the command's last line is complete and is
erased (\r, ESC[K) before anything else is written, so the command's output
is never mixed with it; carbontrack's own messages wait (up to a second) for
the command to finish its line.

At the end, also after Ctrl-C, SIGTERM or a crash of the command, the report
goes to stderr, the logs are written to --log-dir (carbontracker's log pair,
JSON lines, emissions.csv and the power series; read them with
"carbontrack report"), and --json writes the report as JSON to stdout after
the command's output: its last lines, starting on a line of their own (when
the command wrote to stdout directly, carbontrack cannot see its last byte
and always writes a newline first, so an empty line may come before).
--report-file writes it to a file instead, which is what a program should
read. Its energy_kwh and emissions_g cover the whole command, from start to
exit; its epochs and the logs cover the epochs, as carbontracker counts.
With --metrics-addr and --metrics-linger, the endpoint then keeps serving
the final values, all of the above being written; Ctrl-C or SIGTERM ends
that wait, and carbontrack exits with the command's code.

With --budget or --budget-kwh, a message says when the projection or the
consumption passes the budget; with --enforce-budget the command is then
stopped: SIGTERM, then SIGKILL after --grace-period.

Examples:
  carbontrack run -- python -u train.py --epochs 10
  carbontrack run --epochs 10 --epoch-pattern '^Epoch [0-9]+ done' --zone DK -- python -u train.py
  carbontrack run --epochs 10 --epochs-from keras -- python -u fit.py
  carbontrack run --epochs 5 --epoch-start-pattern '^Epoch [0-9]+/' --epoch-pattern '^val' -- python -u train.py
  carbontrack run --process --json --log-dir runs/exp1 -- ./train.sh > metrics.txt
  carbontrack run --budget 500 --enforce-budget --epochs 50 --epoch-pattern 'val_loss' -- python -u fit.py
  CARBONTRACK_ZONE=FR carbontrack run --quiet --report-file report.json -- make train

Flags:
`

// runOptions are run's flags.
type runOptions struct {
	epochs            int
	epochPattern      string
	epochStartPattern string
	epochsFrom        string
	keepCommand       bool
	// matcher reads the epochs from the command's output (nil: the whole
	// run is one epoch); parseRunFlags makes it from the three above.
	matcher      *epochMatcher
	interval     time.Duration
	powerEvery   time.Duration
	checkpoint   time.Duration
	pue          float64
	zone, region string
	intensity    float64
	provider     string
	providerURL  string
	logDir       string
	logPrefix    string
	sysfsRoot    string
	nvmlLib      string
	gpuSampling  bool
	budgetG      float64
	budgetKWh    float64
	enforce      bool
	grace        time.Duration
	process      bool
	quiet        bool
	noStatus     bool
	asJSON       bool
	reportFile   string
	metricsAddr  string
	allowPublic  bool
	runID, node  string
	linger       time.Duration
}

// runFlagSet declares run's flags into o. Each flag with an environment
// twin is listed in the returned map (flag name → variable); to add a flag,
// add a line here.
func runFlagSet(o *runOptions, stderr io.Writer) (*flag.FlagSet, map[string]string) {
	fs := newFlagSet("run", strings.Replace(runHelp, "{{presets}}\n", presetHelp(), 1), stderr)
	twins := envTwins{}
	env := twins.usage
	fs.IntVar(&o.epochs, "epochs", 1, env("epochs", "CARBONTRACK_EPOCHS", "number of epochs the command runs (needs --epoch-pattern, --epoch-start-pattern or --epochs-from)"))
	fs.StringVar(&o.epochPattern, "epoch-pattern", "", env("epoch-pattern", "CARBONTRACK_EPOCH_PATTERN", "regular expression (Go syntax): an output line matching it ends an epoch"))
	fs.StringVar(&o.epochStartPattern, "epoch-start-pattern", "", env("epoch-start-pattern", "CARBONTRACK_EPOCH_START_PATTERN",
		"regular expression (Go syntax): an output line matching it starts an epoch, ending the open one (e.g. '^Epoch [0-9]+/')"))
	fs.StringVar(&o.epochsFrom, "epochs-from", "", env("epochs-from", "CARBONTRACK_EPOCHS_FROM",
		"read the epochs from what a trainer prints: "+strings.Join(presetNames(), ", ")+" (e.g. --epochs 10 --epochs-from keras)"))
	fs.BoolVar(&o.keepCommand, "keep-command", false, env("keep-command", "CARBONTRACK_KEEP_COMMAND",
		"leave the command running if carbontrack itself is killed (by default it then gets SIGTERM; Linux only)"))
	fs.DurationVar(&o.interval, "interval", tracker.DefaultInterval, env("interval", "CARBONTRACK_INTERVAL", "how often energy counters and the CPU/RAM estimates are read between epoch boundaries (boundaries are read when they happen)"))
	fs.DurationVar(&o.powerEvery, "power-interval", tracker.DefaultPowerInterval, env("power-interval", "CARBONTRACK_POWER_INTERVAL", "how often GPUs without an energy counter are read (above 100ms a load changing at 1 Hz may alias)"))
	fs.DurationVar(&o.checkpoint, "checkpoint-interval", tracker.DefaultCheckpointInterval, env("checkpoint-interval", "CARBONTRACK_CHECKPOINT_INTERVAL", "how often the run's totals so far are appended to the JSON lines and synced: a kill loses at most this"))
	fs.Float64Var(&o.pue, "pue", tracker.DefaultPUE, env("pue", "CARBONTRACK_PUE", "power usage effectiveness, 1 to 5 (1: measured at the wall)"))
	fs.StringVar(&o.zone, "zone", "", env("zone", "CARBONTRACK_ZONE", "country or grid zone of the emission factor (FR, DK1, US-CAL-CISO, ...)"))
	fs.StringVar(&o.region, "region", "", env("region", "CARBONTRACK_REGION", "cloud region instead of a zone, e.g. gcp:europe-west4"))
	fs.Float64Var(&o.intensity, "intensity", 0, env("intensity", "CARBONTRACK_INTENSITY", "fixed emission factor in g CO2e/kWh (overrides --zone, --region and --provider)"))
	fs.StringVar(&o.provider, "provider", "static", env("provider", "CARBONTRACK_PROVIDER", "static, electricitymaps, ukgrid or energidataservice"))
	fs.StringVar(&o.providerURL, "provider-url", "", env("provider-url", "CARBONTRACK_PROVIDER_URL", "base URL of the live provider's API"))
	fs.StringVar(&o.logDir, "log-dir", "carbontrack-logs", env("log-dir", "CARBONTRACK_LOG_DIR", "directory of the logs (created); empty: no logs"))
	fs.StringVar(&o.logPrefix, "log-prefix", "", env("log-prefix", "CARBONTRACK_LOG_PREFIX", "prefix of the log file names"))
	fs.StringVar(&o.sysfsRoot, "sysfs-root", "", env("sysfs-root", power.EnvSysfsRoot, "sysfs root for RAPL"))
	fs.StringVar(&o.nvmlLib, "nvml-lib", "", env("nvml-lib", power.EnvNVMLLibrary, "path of libnvidia-ml.so.1"))
	fs.BoolVar(&o.gpuSampling, "gpu-power-sampling", false, env("gpu-power-sampling", "CARBONTRACK_GPU_POWER_SAMPLING", "read GPU power instead of the energy counter"))
	fs.Float64Var(&o.budgetG, "budget", 0, env("budget", "CARBONTRACK_BUDGET", "emissions budget in grams CO2e (0: none)"))
	fs.Float64Var(&o.budgetKWh, "budget-kwh", 0, env("budget-kwh", "CARBONTRACK_BUDGET_KWH", "energy budget in kWh, PUE included (0: none)"))
	fs.BoolVar(&o.enforce, "enforce-budget", false, env("enforce-budget", "CARBONTRACK_ENFORCE_BUDGET", "stop the command when the projection or the consumption passes the budget"))
	fs.DurationVar(&o.grace, "grace-period", 10*time.Second, env("grace-period", "CARBONTRACK_GRACE_PERIOD", "time between SIGTERM and SIGKILL when carbontrack stops the command"))
	fs.BoolVar(&o.process, "process", false, env("process", "CARBONTRACK_PROCESS", "measure only the command's process tree: its GPUs and its share of CPU and memory"))
	fs.BoolVar(&o.quiet, "quiet", false, env("quiet", "CARBONTRACK_QUIET", "print nothing of carbontrack's own but errors and the stopping of the command (--json still prints)"))
	fs.BoolVar(&o.noStatus, "no-status", false, env("no-status", "CARBONTRACK_NO_STATUS", "no live status line, even on a terminal"))
	fs.BoolVar(&o.asJSON, "json", false, env("json", "CARBONTRACK_JSON", "write the final report as JSON to stdout, after the command's output (its last lines; --report-file is cleaner for programs)"))
	fs.StringVar(&o.reportFile, "report-file", "", env("report-file", "CARBONTRACK_REPORT_FILE", "write the final report as JSON to this file"))
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", env("metrics-addr", "CARBONTRACK_METRICS_ADDR", "serve Prometheus metrics on this host:port while the command runs, loopback unless --allow-public (e.g. 127.0.0.1:9464)"))
	fs.BoolVar(&o.allowPublic, "allow-public", false, env("allow-public", "CARBONTRACK_ALLOW_PUBLIC", "let --metrics-addr listen on a non-loopback address (this exposes the run's data)"))
	fs.StringVar(&o.runID, "run-id", "", env("run-id", "CARBONTRACK_RUN_ID", "label run_id on every metric, the same on every node of a run"))
	fs.StringVar(&o.node, "node", "", env("node", "CARBONTRACK_NODE", "label node on every metric, such as the host name"))
	fs.DurationVar(&o.linger, "metrics-linger", 0, env("metrics-linger", "CARBONTRACK_METRICS_LINGER", "keep serving the final metrics this long after the command ends and the report is written (one scrape interval lets Prometheus see the totals; Ctrl-C or SIGTERM ends it sooner)"))
	return fs, twins
}

// applyEnv sets each flag that has its twin in the environment, except
// those in onCmdLine: a flag given on the command line wins over its twin.
// It returns the flags it set.
func applyEnv(fs *flag.FlagSet, twins map[string]string, onCmdLine map[string]bool) (map[string]bool, error) {
	var errs []error
	set := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		name, ok := twins[f.Name]
		if !ok || onCmdLine[f.Name] {
			return
		}
		if v := os.Getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
				return
			}
			set[f.Name] = true
		}
	})
	return set, errors.Join(errs...)
}

// flagsSet returns the names of the flags fs has set so far.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// runDeps are what run takes from the process, replaceable in tests.
type runDeps struct {
	// stdin is given to the command (nil: /dev/null).
	stdin *os.File
	// isTerminal says whether w is a terminal; termWidth its width.
	isTerminal func(w io.Writer) bool
	termWidth  func(w io.Writer) int
	// notify and stopNotify are signal.Notify and signal.Stop.
	notify     func(c chan<- os.Signal, sig ...os.Signal)
	stopNotify func(c chan<- os.Signal)
	// foreground says whether this process is in the foreground process
	// group of its terminal (so a SIGINT came from it to the command too).
	foreground func() bool
	// tick is how often the console is refreshed (status line, held
	// messages); powerEvery how often a power point is logged.
	tick, powerEvery time.Duration
}

func defaultRunDeps() runDeps {
	return runDeps{
		stdin: os.Stdin,
		isTerminal: func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
		termWidth: func(w io.Writer) int {
			if f, ok := w.(*os.File); ok {
				if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 0 {
					return wd
				}
			}
			return 80
		},
		notify:     signal.Notify,
		stopNotify: signal.Stop,
		foreground: inForeground,
		tick:       time.Second,
		powerEvery: 10 * time.Second, // the counters are read every 10 s
	}
}

// inForeground reads /proc/self/stat: the process is in its terminal's
// foreground group when its pgrp (field 5) is the tpgid (field 8). Off
// Linux it says false, and every signal is passed on.
func inForeground() bool {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 6 {
		return false
	}
	return f[5] != "-1" && f[2] == f[5]
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runCommand(ctx, args, stdout, stderr, defaultRunDeps())
}

// parseRunFlags parses run's command line; code is -1 when the command
// should run.
func parseRunFlags(args []string, stderr io.Writer) (o runOptions, argv []string, re *regexp.Regexp, code int) {
	fs, twins := runFlagSet(&o, stderr)
	usage := func(format string, a ...any) (runOptions, []string, *regexp.Regexp, int) {
		fmt.Fprintf(stderr, "carbontrack run: "+format+"\n", a...)
		return o, nil, nil, 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, nil, nil, 0
		}
		return o, nil, nil, 2
	}
	// The command line first, then the environment for the flags it left
	// out: each flag knows which layer set it.
	onCmdLine := flagsSet(fs)
	fromEnv, err := applyEnv(fs, twins, onCmdLine)
	if err != nil {
		return usage("%v", err)
	}
	epochsSet := onCmdLine["epochs"] || fromEnv["epochs"]
	// --zone and --region name the same thing: one given on the command
	// line wins over the other's twin; both in one layer are a mistake.
	if o.zone != "" && o.region != "" && o.intensity == 0 {
		switch {
		case onCmdLine["zone"] && onCmdLine["region"]:
			return usage("give --zone or --region, not both")
		case fromEnv["zone"] && fromEnv["region"]:
			return usage("%s and %s are both set: set one", twins["zone"], twins["region"])
		case onCmdLine["region"]:
			o.zone = ""
		default:
			o.region = ""
		}
	}
	// --epochs-from and the patterns both say how to read the epochs: the
	// same rule.
	patterns := []string{"epoch-pattern", "epoch-start-pattern"}
	if o.epochsFrom != "" && (o.epochPattern != "" || o.epochStartPattern != "") {
		var patCmd bool
		var patEnv []string
		for _, p := range patterns {
			patCmd = patCmd || onCmdLine[p]
			if fromEnv[p] {
				patEnv = append(patEnv, twins[p])
			}
		}
		switch {
		case onCmdLine["epochs-from"] && patCmd:
			return usage("give --epochs-from or --epoch-pattern/--epoch-start-pattern, not both")
		case fromEnv["epochs-from"] && !patCmd:
			return usage("%s and %s are both set: set one", twins["epochs-from"], strings.Join(patEnv, " and "))
		case onCmdLine["epochs-from"]:
			o.epochPattern, o.epochStartPattern = "", ""
		default:
			o.epochsFrom = ""
		}
	}
	// flagName names a flag in a message, with its twin when that set it.
	flagName := func(name string) string {
		if fromEnv[name] {
			return twins[name] + " (--" + name + ")"
		}
		return "--" + name
	}
	epochFlag := "" // the flag that reads the epochs, if any
	switch {
	case o.epochsFrom != "":
		epochFlag = "epochs-from"
	case o.epochPattern != "":
		epochFlag = "epoch-pattern"
	case o.epochStartPattern != "":
		epochFlag = "epoch-start-pattern"
	}
	compile := func(name, expr string) (*regexp.Regexp, error) {
		if expr == "" {
			return nil, nil
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flagName(name), err)
		}
		return re, nil
	}
	start, err := compile("epoch-start-pattern", o.epochStartPattern)
	if err != nil {
		return usage("%v", err)
	}
	if re, err = compile("epoch-pattern", o.epochPattern); err != nil {
		return usage("%v", err)
	}
	o.matcher = patternMatcher(start, re)
	if o.epochsFrom != "" {
		if o.matcher, err = presetMatcher(o.epochsFrom); err != nil {
			return usage("%s: %v", flagName("epochs-from"), err)
		}
	}
	argv = fs.Args()
	switch {
	case len(argv) == 0:
		return usage("no command given; see carbontrack run --help")
	case o.epochs < 1:
		return usage("--epochs must be at least 1, got %d", o.epochs)
	case epochFlag == "" && epochsSet && o.epochs != 1:
		return usage("--epochs needs --epoch-pattern, --epoch-start-pattern or --epochs-from: without them the whole command is one epoch")
	case epochFlag == "epochs-from" && !epochsSet:
		return usage("%s needs --epochs N, the number of epochs the command runs "+
			"(carbontrack counts them from the start, before the command prints its total)", flagName(epochFlag))
	case epochFlag != "" && !epochsSet:
		return usage("%s needs --epochs N, the number of epochs the command runs", flagName(epochFlag))
	case o.interval <= 0:
		return usage("--interval must be positive, got %v", o.interval)
	case o.powerEvery <= 0:
		return usage("--power-interval must be positive, got %v", o.powerEvery)
	case o.checkpoint <= 0:
		return usage("--checkpoint-interval must be positive, got %v", o.checkpoint)
	case !(o.pue >= 1 && o.pue <= 5):
		return usage("--pue must be in [1, 5], got %v", o.pue)
	case o.intensity < 0 || math.IsNaN(o.intensity):
		return usage("--intensity must not be negative")
	case o.budgetG < 0 || o.budgetKWh < 0:
		return usage("budgets must not be negative")
	case o.enforce && o.budgetG == 0 && o.budgetKWh == 0:
		return usage("--enforce-budget needs --budget or --budget-kwh")
	case o.grace <= 0:
		return usage("--grace-period must be positive, got %v", o.grace)
	case o.linger < 0:
		return usage("--metrics-linger must not be negative")
	}
	if o.metricsAddr != "" {
		if err := promexport.CheckAddr(o.metricsAddr, o.allowPublic); err != nil {
			return usage("--metrics-addr: %v", err)
		}
	}
	return o, argv, re, -1
}

// runProvider returns the emission factor's provider; a live one is cached
// and asked once now, so that the tracker starts without waiting for it.
func runProvider(ctx context.Context, o *runOptions) (factor.Provider, error) {
	if o.intensity > 0 {
		p := factor.Fixed(factor.GramsPerKWh(o.intensity))
		if _, err := p.Intensity(ctx, time.Now()); err != nil {
			return nil, fmt.Errorf("--intensity: %w", err)
		}
		return p, nil
	}
	zone := o.zone
	if o.region != "" {
		zone = o.region
	}
	p, err := buildProvider(o.provider, zone, o.providerURL, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if _, ok := p.(factor.StaticProvider); ok {
		return p, nil
	}
	c, err := factor.NewCache(p)
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, _ = c.Intensity(fctx, time.Now()) // a failure falls back in the tracker
	cancel()
	return c, nil
}

// runCommand is "carbontrack run" with its dependencies.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer, deps runDeps) int {
	o, argv, _, code := parseRunFlags(args, stderr)
	if code >= 0 {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "carbontrack run: "+format+"\n", a...)
		return code
	}
	// Signals from now on are kept for the command (sigc holds a few), or
	// end the run before it starts.
	sigc := make(chan os.Signal, 8)
	deps.notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE)
	defer deps.stopNotify(sigc)
	// interrupted says, once ctx is done (main's signal context, on SIGINT
	// or SIGTERM), to exit before starting the command: with 128+N for the
	// signal N that came (130, SIGINT's, when none did).
	interrupted := func() (int, bool) {
		if ctx.Err() == nil {
			return 0, false
		}
		for {
			select {
			case s := <-sigc:
				if n, ok := s.(syscall.Signal); ok && n != syscall.SIGPIPE {
					return 128 + int(n), true
				}
			default:
				return 128 + int(syscall.SIGINT), true
			}
		}
	}
	const notStarted = "interrupted before the command started"

	prov, err := runProvider(ctx, &o)
	if code, ok := interrupted(); ok {
		return fail(code, notStarted)
	}
	if err != nil {
		return fail(2, "%v", err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrPermission):
			return fail(126, "%s: permission denied", argv[0])
		case errors.Is(err, exec.ErrDot):
			return fail(127, "%s: command not found (it is in the current directory: run ./%s)", argv[0], argv[0])
		}
		return fail(127, "%s: command not found", argv[0])
	}

	status := !o.quiet && !o.noStatus && deps.isTerminal(stderr)
	outTTY := deps.isTerminal(stdout)
	cons := newConsole(stdout, stderr, outTTY, deps.isTerminal(stderr), status, deps.termWidth(stderr))
	say := cons.say
	if o.quiet {
		say = nil
	}
	ep := newEpochCounter(o.epochs, o.matcher, say, nil)

	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	if deps.stdin != nil {
		cmd.Stdin = deps.stdin
	}
	// Read the command's output only when needed: otherwise it writes to
	// our stdout and stderr themselves (a terminal stays a terminal).
	teeOut := o.matcher != nil || (status && outTTY)
	teeErr := o.matcher != nil || status
	relayedOut := true
	if f, ok := stdout.(*os.File); ok && !teeOut {
		cmd.Stdout = f
		relayedOut = false
	} else {
		cmd.Stdout = &lineTee{write: cons.childOut, update: ep.lineFunc()}
	}
	if f, ok := stderr.(*os.File); ok && !teeErr {
		cmd.Stderr = f
		cons.direct = true
	} else {
		cmd.Stderr = &lineTee{write: cons.childErr, update: ep.lineFunc()}
	}
	// A child of the command may keep the pipes open after it exits.
	cmd.WaitDelay = 2 * time.Second

	budget := make(chan tracker.BudgetEvent, 1)
	start := func(pid int) (*tracker.Tracker, *power.Discovery, error) {
		dctx := ctx
		if pid > 0 {
			// The command runs: a signal now is for it (the loop below
			// passes it on), not a reason to leave it unmeasured.
			dctx = context.WithoutCancel(ctx)
		}
		return startTracker(dctx, &o, prov, pid, cons, budget)
	}
	var (
		t    *tracker.Tracker
		disc *power.Discovery
	)
	if !o.process {
		// The machine: measure from before the command starts.
		if t, disc, err = start(0); err != nil {
			cons.finish()
			if code, ok := interrupted(); ok {
				return fail(code, notStarted)
			}
			return fail(1, "cannot measure: %v", err)
		}
	}
	// Ctrl-C while the provider or the devices were asked: the command
	// must not start only to be stopped.
	if code, ok := interrupted(); ok {
		if t != nil {
			t.Stop()
			_ = disc.Close()
		}
		cons.finish()
		return fail(code, notStarted)
	}
	waitc, err := startChild(cmd, o.keepCommand)
	if err != nil {
		if t != nil {
			t.Stop()
			_ = disc.Close()
		}
		cons.finish()
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOEXEC) {
			return fail(126, "%s: %v", argv[0], err)
		}
		return fail(127, "%s: %v", argv[0], err)
	}
	began := time.Now()
	if o.process {
		// The process tree: its pid is known only now.
		if t, disc, err = start(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			<-waitc
			cons.finish()
			return fail(1, "cannot measure the command's process tree: %v (the command was killed)", err)
		}
	}
	ep.begin(t)
	metrics := startMetrics(ctx, &o, t, cons)
	stopTick := cons.run(deps.tick, func(st *tracker.Status) string {
		// Counters are read every --interval; the status line asks for a
		// fresh read each time it is drawn (on a terminal only).
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_ = t.Refresh(rctx)
		cancel()
		t.StatusInto(st)
		return statusText(st, began, time.Now())
	})

	plog := newPowerLogger(t, cons)
	var powerTick <-chan time.Time
	if plog != nil {
		tk := time.NewTicker(deps.powerEvery)
		defer tk.Stop()
		powerTick = tk.C
	}

	var (
		waitErr      error
		killTimer    *time.Timer
		killc        <-chan time.Time
		stopping     bool
		stoppedBy    string
		interrupts   int
		ctxDone      = ctx.Done()
		cancelTimer  *time.Timer
		cancelc      <-chan time.Time
		signals      int
		budgetPassed bool
	)
	gracefulStop := func(why string) {
		if stopping {
			return
		}
		stopping, stoppedBy = true, why
		cons.say(fmt.Sprintf("carbontrack: stopping the command (%s): SIGTERM now, SIGKILL in %v\n", why, o.grace))
		_ = cmd.Process.Signal(syscall.SIGTERM)
		killTimer = time.NewTimer(o.grace)
		killc = killTimer.C
	}
	onSignal := func(s os.Signal) {
		switch s {
		case syscall.SIGPIPE:
			return // our stdout or stderr is gone; writes fail instead
		case os.Interrupt, syscall.SIGQUIT, syscall.SIGHUP:
			if s == os.Interrupt {
				interrupts++
			}
			if interrupts >= 3 {
				cons.say("carbontrack: third interrupt: killing the command\n")
				_ = cmd.Process.Kill()
				return
			}
			if deps.foreground() {
				return // the terminal sent it to the command too
			}
		}
		_ = cmd.Process.Signal(s)
	}
loop:
	for {
		select {
		case waitErr = <-waitc:
			break loop
		case s := <-sigc:
			signals++
			onSignal(s)
		case <-ctxDone:
			// main's NotifyContext ends ctx on SIGINT and SIGTERM, which
			// sigc gets too (possibly a moment later): those are passed
			// on as they are. Any other end of ctx stops the command.
			ctxDone = nil
			cancelTimer = time.NewTimer(cancelWait)
			cancelc = cancelTimer.C
		case <-cancelc:
			cancelc = nil
			if signals == 0 {
				gracefulStop("cancelled")
			}
		case ev := <-budget:
			budgetPassed = true
			if o.enforce {
				gracefulStop(budgetWhy(ev))
			}
		case <-killc:
			killc = nil
			cons.say(fmt.Sprintf("carbontrack: the command did not stop within %v: SIGKILL\n", o.grace))
			_ = cmd.Process.Kill()
		case <-powerTick:
			plog.sample()
		}
	}
	ended := time.Now()
	for _, tm := range []*time.Timer{killTimer, cancelTimer} {
		if tm != nil {
			tm.Stop()
		}
	}
	stopTick()
	exitCode, sig := exitStatus(cmd.ProcessState)
	if waitErr != nil && cmd.ProcessState == nil {
		cons.say(fmt.Sprintf("carbontrack: waiting for the command: %v\n", waitErr))
	}

	// Signals that came while the command ran were for it, not for the
	// linger below.
	for drained := false; !drained; {
		select {
		case <-sigc:
		default:
			drained = true
		}
	}
	lingerDone := ctx.Done()
	if ctx.Err() != nil {
		lingerDone = nil // ended with the command; a new signal ends the linger
	}

	ep.finish(exitCode == 0)
	t.Stop()
	plog.close()
	cons.finish()

	rep := t.Report()
	st := t.Status()
	select {
	case <-budget:
		budgetPassed = true
	default:
	}
	out := buildRunJSON(argv, exitCode, sig, ended.Sub(began), &rep, &st, disc, o.process)
	out.BudgetExceeded = out.BudgetExceeded || budgetPassed
	out.StoppedByBudget = o.enforce && stopping && strings.HasPrefix(stoppedBy, "budget")
	if plog != nil && plog.path != "" {
		out.Files = append(out.Files, plog.path)
	}
	if !o.quiet {
		printRunReport(stderr, &out, &rep)
	}
	if o.reportFile != "" {
		if err := writeJSONFile(o.reportFile, &out); err != nil {
			fmt.Fprintf(stderr, "carbontrack run: --report-file: %v\n", err)
		}
	}
	if o.asJSON {
		// On a line of its own: after the command's partial line, when
		// carbontrack relayed its stdout; always after a newline when the
		// command wrote to stdout itself, as its last byte is unknown.
		if !relayedOut || cons.outPartial() {
			_, _ = io.WriteString(stdout, "\n")
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&out); err != nil {
			fmt.Fprintf(stderr, "carbontrack run: --json: %v\n", err)
		}
	}
	// Everything is written: now Prometheus may scrape the final values.
	metrics.stop(o.linger, sigc, lingerDone, stderr, o.quiet)
	_ = disc.Close()
	return exitCode
}

func budgetWhy(ev tracker.BudgetEvent) string {
	what := "consumption"
	if ev.Projected {
		what = "projected consumption"
	}
	return fmt.Sprintf("budget exceeded: %s %s g CO2e, %s kWh; budget %s g, %s kWh", what,
		human(ev.Grams), human(ev.KWh), human(ev.BudgetGrams), human(ev.BudgetKWh))
}

// exitStatus returns the command's exit code: its own, or 128+N when
// signal N killed it.
func exitStatus(ps *os.ProcessState) (int, string) {
	if ps == nil {
		return 1, ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), ws.Signal().String()
	}
	return ps.ExitCode(), ""
}

// startTracker discovers the devices (of the process tree pid, if not 0)
// and starts a tracker on them.
func startTracker(ctx context.Context, o *runOptions, prov factor.Provider, pid int, cons *console,
	budget chan<- tracker.BudgetEvent) (*tracker.Tracker, *power.Discovery, error) {
	logger := slog.New(slog.NewTextHandler(cons.messages("carbontrack: "), &slog.HandlerOptions{
		Level: slog.LevelError,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	popts := []power.Option{power.WithLogger(logger)}
	if o.sysfsRoot != "" {
		popts = append(popts, power.WithSysfsRoot(o.sysfsRoot))
	}
	if o.nvmlLib != "" {
		popts = append(popts, power.WithNVMLLibrary(o.nvmlLib))
	}
	if o.gpuSampling {
		popts = append(popts, power.WithGPUPowerSampling())
	}
	if pid > 0 {
		popts = append(popts, power.WithProcess(pid))
	}
	d, err := power.Discover(ctx, popts...)
	if err != nil {
		return nil, nil, err
	}
	verbose := 1
	if o.quiet {
		verbose = 0
	}
	topts := []tracker.Option{
		tracker.WithSources(d.Sources), tracker.WithInterval(o.interval), tracker.WithPowerInterval(o.powerEvery),
		tracker.WithCheckpointInterval(o.checkpoint), tracker.WithPUE(o.pue),
		tracker.WithFactor(prov), tracker.WithConsole(cons.messages("")), tracker.WithVerbose(verbose),
		tracker.WithLogger(logger), tracker.WithBudgetGrams(o.budgetG), tracker.WithBudgetKWh(o.budgetKWh),
		tracker.WithBudgetFunc(func(ev tracker.BudgetEvent) {
			select {
			case budget <- ev:
			default:
			}
		}),
	}
	if pid > 0 {
		topts = append(topts, tracker.WithProcess(pid))
	}
	if o.logDir != "" {
		topts = append(topts, tracker.WithLogDir(o.logDir), tracker.WithLogPrefix(o.logPrefix))
	}
	t, err := tracker.New(o.epochs, topts...)
	if err != nil {
		_ = d.Close()
		if len(d.Sources) == 0 {
			var why []string
			for _, u := range d.Unavailable {
				why = append(why, u.Name+": "+u.Reason())
			}
			return nil, nil, fmt.Errorf("%w (%s)", err, strings.Join(why, "; "))
		}
		return nil, nil, err
	}
	// Report.Unavailable is empty with WithSources: keep discovery's.
	return t, d, nil
}

// cancelWait is how long run waits, once ctx is done, for the signal that
// may have ended it.
const cancelWait = 200 * time.Millisecond

// holdMax is how long a message of carbontrack's waits for the command to
// finish its line on stderr before it is written on a line of its own.
const holdMax = time.Second

// console serializes what reaches stdout and stderr: the command's output
// (when carbontrack reads it), carbontrack's messages and the status line.
// The status line is drawn only when the screen's cursor is at the start of
// a line, and erased ("\r" then ESC[K) before anything else is written;
// messages wait (up to holdMax) for the command's partial line on stderr to
// end. Its methods are safe for concurrent use; say and the Writers of
// messages never block on a slow terminal.
type console struct {
	mu                     sync.Mutex // guards the fields below and the writes
	out, err               io.Writer
	outTTY, errTTY, status bool
	width                  int
	direct                 bool // the command writes to stderr itself
	shown                  bool // the status line is on the screen
	text                   string
	outLast, errLast       byte // last byte written to stdout, stderr (0: none)
	screenLast             byte // last byte written to the terminal

	qmu       sync.Mutex // guards queue and heldSince
	queue     []string
	heldSince time.Time
	queued    chan struct{} // 1-buffered: a message was queued (wakes run without a status line)
}

func newConsole(out, err io.Writer, outTTY, errTTY, status bool, width int) *console {
	return &console{out: out, err: err, outTTY: outTTY, errTTY: errTTY, status: status, width: width,
		queued: make(chan struct{}, 1)}
}

// childOut writes the command's stdout.
func (c *console) childOut(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outTTY {
		c.eraseLocked()
	}
	n, err := c.out.Write(p)
	if n > 0 {
		c.outLast = p[n-1]
		if c.outTTY {
			c.screenLast = c.outLast
		}
	}
	c.flushLocked(false)
	c.drawLocked()
	return n, err
}

// childErr writes the command's stderr.
func (c *console) childErr(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	n, err := c.err.Write(p)
	if n > 0 {
		c.errLast = p[n-1]
		if c.errTTY {
			c.screenLast = c.errLast
		}
	}
	c.flushLocked(false)
	c.drawLocked()
	return n, err
}

// say queues a message for stderr and writes it if it can now.
func (c *console) say(msg string) {
	c.qmu.Lock()
	if len(c.queue) == 0 {
		c.heldSince = time.Now()
	}
	c.queue = append(c.queue, msg)
	c.qmu.Unlock()
	select {
	case c.queued <- struct{}{}:
	default:
	}
	if c.mu.TryLock() {
		c.flushLocked(false)
		c.drawLocked()
		c.mu.Unlock()
	}
}

// messages returns a Writer whose every Write is a message (a tracker's
// console, an slog handler), prefixed.
func (c *console) messages(prefix string) io.Writer { return msgWriter{c: c, prefix: prefix} }

type msgWriter struct {
	c      *console
	prefix string
}

func (w msgWriter) Write(p []byte) (int, error) {
	w.c.say(w.prefix + string(p))
	return len(p), nil
}

// cleanLocked says whether no partial line of the command is pending where
// a message would go.
func (c *console) cleanLocked() bool {
	if c.direct {
		return true
	}
	if c.errLast != 0 && c.errLast != '\n' {
		return false
	}
	return !c.errTTY || c.screenLast == 0 || c.screenLast == '\n'
}

func (c *console) eraseLocked() {
	if c.shown {
		_, _ = io.WriteString(c.err, "\r\x1b[K")
		c.shown = false
	}
}

func (c *console) drawLocked() {
	if c.status && c.text != "" && !c.shown && c.cleanLocked() {
		_, _ = io.WriteString(c.err, c.text)
		c.shown = true
	}
}

// flushLocked writes the queued messages when no partial line is pending,
// or when they waited holdMax, or if force; then on a line of their own.
func (c *console) flushLocked(force bool) {
	c.qmu.Lock()
	q, held := c.queue, c.heldSince
	clean := c.cleanLocked()
	if len(q) == 0 || (!clean && !force && time.Since(held) < holdMax) {
		c.qmu.Unlock()
		return
	}
	c.queue = nil
	c.qmu.Unlock()
	c.eraseLocked()
	var b strings.Builder
	if !clean {
		b.WriteByte('\n')
	}
	for _, m := range q {
		b.WriteString(m)
		if !strings.HasSuffix(m, "\n") {
			b.WriteByte('\n')
		}
	}
	_, _ = io.WriteString(c.err, b.String())
	c.errLast = '\n'
	if c.errTTY {
		c.screenLast = '\n'
	}
}

// run refreshes the console every tick in a goroutine: the status line from
// text, and the messages held too long. The returned function stops it,
// waits for it and erases the status line for good.
func (c *console) run(every time.Duration, text func(*tracker.Status) string) (stop func()) {
	stopc, done := make(chan struct{}), make(chan struct{})
	c.mu.Lock()
	on := c.status
	c.mu.Unlock()
	if !on {
		// No status line: wake only for a message held behind the
		// command's partial line, never on a clock.
		go func() {
			defer close(done)
			c.flushHeld(stopc)
		}()
	} else {
		go func() {
			defer close(done)
			c.tick(every, text, stopc)
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stopc)
			<-done
			c.mu.Lock()
			c.eraseLocked()
			c.status = false
			c.mu.Unlock()
		})
	}
}

// flushHeld writes the messages held behind the command's partial line once
// they waited holdMax, until stopc is closed.
func (c *console) flushHeld(stopc <-chan struct{}) {
	for {
		select {
		case <-stopc:
			return
		case <-c.queued:
		}
		for {
			c.qmu.Lock()
			n, held := len(c.queue), c.heldSince
			c.qmu.Unlock()
			if n == 0 {
				break
			}
			timer := time.NewTimer(max(holdMax-time.Since(held), 0))
			select {
			case <-stopc:
				timer.Stop()
				return
			case <-timer.C:
			}
			c.mu.Lock()
			c.flushLocked(false)
			c.mu.Unlock()
		}
	}
}

// tick redraws the status line every tick, and writes the messages held too
// long, until stopc is closed.
func (c *console) tick(every time.Duration, text func(*tracker.Status) string, stopc <-chan struct{}) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	var st tracker.Status
	for {
		s := c.fit(text(&st))
		c.mu.Lock()
		c.flushLocked(false)
		if c.status {
			c.text = s
			if c.shown {
				_, _ = io.WriteString(c.err, "\r"+s+"\x1b[K")
			} else {
				c.drawLocked()
			}
		}
		c.mu.Unlock()
		select {
		case <-stopc:
			return
		case <-tk.C:
		}
	}
}

// fit cuts s to the terminal's width, so that it never wraps.
func (c *console) fit(s string) string {
	if w := c.width - 1; w > 0 && len(s) > w {
		return s[:w]
	}
	return s
}

// finish erases the status line and writes every message left.
func (c *console) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	c.status = false
	c.flushLocked(true)
}

// outPartial says whether the command's stdout ended in a partial line.
func (c *console) outPartial() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outLast != 0 && c.outLast != '\n'
}

// statusText is the status line: elapsed time, epoch, the devices' power
// now by kind, energy (PUE included) and emissions so far, projection.
func statusText(st *tracker.Status, began, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "carbontrack %s", clock(now.Sub(began)))
	if st.Epochs > 1 {
		fmt.Fprintf(&b, " epoch %d/%d", min(max(st.Started, 1), st.Epochs), st.Epochs)
	}
	byKind := map[power.Kind]power.Watts{}
	for _, s := range st.Sources {
		byKind[s.Info.Kind] += s.Power
	}
	sep := " |"
	for _, k := range []power.Kind{power.KindGPU, power.KindCPU, power.KindDRAM} {
		if w, ok := byKind[k]; ok {
			fmt.Fprintf(&b, "%s %s %.0f W", sep, k, float64(w))
			sep = ""
		}
	}
	fmt.Fprintf(&b, " | %s %s g CO2e", energyText(st.FacilityEnergy.KWh()), human(st.Grams))
	if st.HasProjection {
		fmt.Fprintf(&b, " | projected %s g", human(st.Projection.Grams))
	}
	return b.String()
}

// energyText formats kWh, in Wh below 1 kWh.
func energyText(kwh float64) string {
	if kwh < 1 {
		return human(kwh*1000) + " Wh"
	}
	return human(kwh) + " kWh"
}

// clock formats d as H:MM:SS.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// human formats v with about three significant digits, never an exponent.
func human(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	d := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	return fmt.Sprintf("%.*f", min(max(d, 0), 12), v)
}

// powerLogger writes the power series beside the tracker's logs: the
// devices' average power by kind between two samples.
type powerLogger struct {
	t     *tracker.Tracker
	log   *runlog.PowerLog
	path  string
	cons  *console
	st    tracker.Status
	last  time.Time
	lastE map[string]power.Joules
}

// newPowerLogger returns nil when the tracker writes no logs.
func newPowerLogger(t *tracker.Tracker, cons *console) *powerLogger {
	for _, f := range t.Report().Files {
		if base, ok := strings.CutSuffix(f, runlog.SuffixStdLog); ok {
			path := base + runlog.SuffixPower
			l, err := runlog.CreatePowerLog(path)
			if err != nil {
				cons.say(fmt.Sprintf("carbontrack: %v\n", err))
				return nil
			}
			return &powerLogger{t: t, log: l, path: path, cons: cons, lastE: map[string]power.Joules{}}
		}
	}
	return nil
}

func (p *powerLogger) sample() {
	if p == nil {
		return
	}
	p.t.StatusInto(&p.st)
	from := p.last
	if from.IsZero() {
		from = p.st.Start
	}
	dt := p.st.Time.Sub(from)
	if p.st.Time.IsZero() || dt <= 0 {
		return
	}
	e := map[string]power.Joules{}
	for _, s := range p.st.Sources {
		e[string(s.Info.Kind)] += s.DeviceEnergy
	}
	w := make(map[string]float64, len(e))
	for k, v := range e {
		w[k] = float64(max(v-p.lastE[k], 0)) / dt.Seconds()
	}
	if err := p.log.Add(runlog.PowerPoint{Time: p.st.Time, Interval: dt, Watts: w}); err != nil {
		return // reported by close
	}
	p.last, p.lastE = p.st.Time, e
}

// close takes a last sample (after the tracker's Stop) and closes the file.
func (p *powerLogger) close() {
	if p == nil {
		return
	}
	p.sample()
	if err := p.log.Close(); err != nil {
		p.cons.say(fmt.Sprintf("carbontrack: %v\n", err))
	}
}

// runJSON is run's report, for --json and --report-file.
type runJSON struct {
	Command         []string          `json:"command"`
	ExitCode        int               `json:"exit_code"`
	Signal          string            `json:"signal,omitempty"`
	Mode            string            `json:"mode"`
	DurationS       float64           `json:"duration_s"`
	DeviceKWh       float64           `json:"device_energy_kwh"`
	FacilityKWh     float64           `json:"facility_energy_kwh"`
	EmissionsG      float64           `json:"emissions_g"`
	IntensityGPerKW float64           `json:"intensity_g_per_kwh"`
	InEpochs        runTotalsJSON     `json:"in_epochs"`
	Actual          runTotalsJSON     `json:"actual"`
	OutsideEpochs   runTotalsJSON     `json:"outside_epochs"`
	Intensity       intensityUsedJSON `json:"intensity"`
	PUE             float64           `json:"pue"`
	Components      []componentJSON   `json:"components"`
	Unavailable     []unavailableJSON `json:"unavailable"`
	EpochsPlanned   int               `json:"epochs_planned"`
	EpochsCompleted int               `json:"epochs_completed"`
	Interrupted     bool              `json:"interrupted"`
	Epochs          []runEpochJSON    `json:"epochs"`
	Prediction      *predictionJSON   `json:"prediction"`
	BudgetExceeded  bool              `json:"budget_exceeded"`
	StoppedByBudget bool              `json:"stopped_by_budget"`
	Files           []string          `json:"files"`
}

// runTotalsJSON is a part of the run: tracker.Totals.
type runTotalsJSON struct {
	DurationS   float64 `json:"duration_s"`
	DeviceKWh   float64 `json:"device_energy_kwh"`
	FacilityKWh float64 `json:"facility_energy_kwh"`
	EmissionsG  float64 `json:"emissions_g"`
}

func runTotals(t tracker.Totals) runTotalsJSON {
	return runTotalsJSON{DurationS: t.Duration.Seconds(), DeviceKWh: t.DeviceEnergy.KWh(),
		FacilityKWh: t.FacilityEnergy.KWh(), EmissionsG: t.Grams}
}

type intensityUsedJSON struct {
	Zone     string `json:"zone"`
	Provider string `json:"provider"`
	Source   string `json:"source"`
	Fallback string `json:"fallback,omitempty"`
}

type componentJSON struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Device    string  `json:"device"`
	Method    string  `json:"method"`
	EnergyJ   float64 `json:"device_energy_j"`
	AvgPowerW float64 `json:"avg_power_w"`
	Lost      bool    `json:"lost,omitempty"`
}

type runEpochJSON struct {
	Epoch            int       `json:"epoch"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	DurationS        float64   `json:"duration_s"`
	DeviceKWh        float64   `json:"device_energy_kwh"`
	FacilityKWh      float64   `json:"facility_energy_kwh"`
	EmissionsG       float64   `json:"emissions_g"`
	IntensityGPerKWh float64   `json:"intensity_g_per_kwh"`
	Interrupted      bool      `json:"interrupted"`
}

type predictionJSON struct {
	Epochs          int      `json:"epochs"`
	KnownEpochs     int      `json:"known_epochs"`
	DurationS       float64  `json:"duration_s"`
	FacilityKWh     float64  `json:"facility_energy_kwh"`
	EmissionsG      float64  `json:"emissions_g"`
	EmissionsLowG   float64  `json:"emissions_low_g"`
	EmissionsHighG  float64  `json:"emissions_high_g"`
	TrendEmissionsG *float64 `json:"trend_emissions_g,omitempty"`
}

// buildRunJSON gathers the report from the tracker's Report after Stop:
// the whole run is the headline, epochs and outside time partition it.
func buildRunJSON(argv []string, code int, sig string, dur time.Duration, rep *tracker.Report, st *tracker.Status,
	d *power.Discovery, process bool) runJSON {
	out := runJSON{Command: argv, ExitCode: code, Signal: sig, Mode: "machine", DurationS: dur.Seconds(),
		DeviceKWh: rep.Run.DeviceEnergy.KWh(), FacilityKWh: rep.Run.FacilityEnergy.KWh(), EmissionsG: rep.Run.Grams,
		PUE: rep.PUE, IntensityGPerKW: float64(rep.MeanIntensity), InEpochs: runTotals(rep.InEpochs),
		Actual: runTotals(rep.Actual), OutsideEpochs: runTotals(rep.OutsideEpochs),
		Intensity: intensityUsedJSON{Zone: rep.Intensity.Zone, Provider: rep.Intensity.Provider,
			Source: rep.Intensity.Source, Fallback: rep.Intensity.Fallback},
		Components: []componentJSON{}, Unavailable: []unavailableJSON{}, Epochs: []runEpochJSON{},
		EpochsPlanned: rep.Epochs, EpochsCompleted: rep.Completed, Interrupted: rep.Interrupted,
		BudgetExceeded: rep.BudgetExceeded, Files: append([]string{}, rep.Files...)}
	if process {
		out.Mode = "process"
	}
	measured := st.Time.Sub(st.Start).Seconds()
	for _, s := range st.Sources {
		c := componentJSON{Name: s.Info.Name, Kind: string(s.Info.Kind), Device: s.Info.Device,
			Method: string(s.Info.Method), EnergyJ: float64(s.DeviceEnergy), Lost: s.Lost}
		if measured > 0 {
			c.AvgPowerW = c.EnergyJ / measured
		}
		out.Components = append(out.Components, c)
	}
	if d != nil {
		for _, u := range d.Unavailable {
			out.Unavailable = append(out.Unavailable, unavailableJSON{Name: u.Name, Reason: u.Reason()})
		}
	}
	for _, e := range rep.EpochRecords {
		out.Epochs = append(out.Epochs, runEpochJSON{Epoch: e.N, Start: e.Start.UTC(), End: e.End.UTC(),
			DurationS: e.Duration.Seconds(), DeviceKWh: e.DeviceEnergy.KWh(), FacilityKWh: e.FacilityEnergy.KWh(), EmissionsG: e.Grams,
			IntensityGPerKWh: float64(e.Intensity), Interrupted: e.Interrupted})
	}
	if p := rep.Projection; p != nil {
		out.Prediction = &predictionJSON{Epochs: p.Epochs, KnownEpochs: p.Known, DurationS: p.Duration.Seconds(),
			FacilityKWh: p.FacilityEnergy.KWh(), EmissionsG: p.Grams, EmissionsLowG: p.GramsLow, EmissionsHighG: p.GramsHigh}
		if p.Trend {
			g := p.TrendGrams
			out.Prediction.TrendEmissionsG = &g
		}
	}
	return out
}

// printRunReport prints the final report for people.
func printRunReport(w io.Writer, out *runJSON, rep *tracker.Report) {
	how := fmt.Sprintf("exited with code %d", out.ExitCode)
	if out.Signal != "" {
		how = fmt.Sprintf("was killed by signal %s (exit code %d)", out.Signal, out.ExitCode)
	}
	fmt.Fprintf(w, "\ncarbontrack: %s %s after %s\n", shellQuote(out.Command), how, clock(fromSeconds(out.DurationS)))
	scope := "this machine"
	if out.Mode == "process" {
		scope = "the command's process tree"
	}
	fmt.Fprintf(w, "  measured:   %s\n", scope)
	fmt.Fprintf(w, "  energy:     %s kWh facility (PUE %v included); %s kWh drawn by the devices\n", human(out.FacilityKWh), out.PUE, human(out.DeviceKWh))
	fmt.Fprintf(w, "  emissions:  %s g CO2e (mean %s g CO2e/kWh)\n", human(out.EmissionsG), human(out.IntensityGPerKW))
	fmt.Fprintf(w, "  intensity:  %s\n", rep.Intensity.String())
	fmt.Fprintf(w, "  epochs:     %d of %d completed", out.EpochsCompleted, out.EpochsPlanned)
	if out.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)
	if out.EpochsCompleted > 0 || out.Interrupted {
		fmt.Fprintf(w, "  of which:   completed epochs %s g, %s kWh; ", human(out.Actual.EmissionsG), human(out.Actual.FacilityKWh))
		if cut := out.InEpochs.EmissionsG - out.Actual.EmissionsG; cut > 0 {
			fmt.Fprintf(w, "interrupted epoch %s g; ", human(cut))
		}
		fmt.Fprintf(w, "outside epochs %s g, %s kWh (%s)\n", human(out.OutsideEpochs.EmissionsG),
			human(out.OutsideEpochs.FacilityKWh), clock(fromSeconds(out.OutsideEpochs.DurationS)))
	}
	if p := out.Prediction; p != nil && out.EpochsCompleted < p.Epochs {
		fmt.Fprintf(w, "  projection: %s g CO2e, %s kWh for %d epochs (from %d)\n", human(p.EmissionsG), human(p.FacilityKWh), p.Epochs, p.KnownEpochs)
	}
	if out.BudgetExceeded {
		what := "passed"
		if out.StoppedByBudget {
			what = "passed: the command was stopped"
		}
		fmt.Fprintf(w, "  budget:     %s\n", what)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "    COMPONENT\tKIND\tMETHOD\tDEVICE ENERGY (J)\tAVG POWER (W)\tDEVICE\n")
	for _, c := range out.Components {
		lost := ""
		if c.Lost {
			lost = " (lost)"
		}
		fmt.Fprintf(tw, "    %s%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, lost, c.Kind, c.Method, human(c.EnergyJ), human(c.AvgPowerW), c.Device)
	}
	_ = tw.Flush()
	for _, u := range out.Unavailable {
		fmt.Fprintf(w, "  not measured: %s: %s\n", u.Name, u.Reason)
	}
	for _, f := range out.Files {
		fmt.Fprintf(w, "  log: %s\n", f)
	}
}

// shellQuote joins argv as a shell would need it typed.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' || r == '+' ||
				(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func fromSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// writeJSONFile writes v, indented, to path.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// runMetrics is the Prometheus endpoint of a run, or nothing.
type runMetrics struct{ srv *promexport.Server }

// startMetrics serves the tracker's metrics when --metrics-addr is set. A
// failure is reported and the run goes on unmeasured by Prometheus: the
// command has started and must not suffer for it.
func startMetrics(ctx context.Context, o *runOptions, t *tracker.Tracker, cons *console) runMetrics {
	if o.metricsAddr == "" {
		return runMetrics{}
	}
	col, err := promexport.NewCollector(t, promexport.WithRunID(o.runID), promexport.WithNode(o.node))
	if err != nil {
		cons.say(fmt.Sprintf("carbontrack: no metrics: %v\n", err))
		return runMetrics{}
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(col); err != nil {
		cons.say(fmt.Sprintf("carbontrack: no metrics: %v\n", err))
		return runMetrics{}
	}
	// Not the signal context: Ctrl-C must not close the endpoint while the
	// command is still stopping.
	srv, err := promexport.Serve(context.WithoutCancel(ctx), o.metricsAddr, reg, promexport.WithAllowPublic(o.allowPublic))
	if err != nil {
		cons.say(fmt.Sprintf("carbontrack: no metrics: %v\n", err))
		return runMetrics{}
	}
	if !o.quiet {
		cons.say(fmt.Sprintf("carbontrack: metrics at %s\n", srv.URL()))
	}
	return runMetrics{srv: srv}
}

// stop serves the final values for linger, then shuts the endpoint down. A
// signal on sigc other than SIGPIPE, or done, ends the linger early.
func (m runMetrics) stop(linger time.Duration, sigc <-chan os.Signal, done <-chan struct{}, stderr io.Writer, quiet bool) {
	if m.srv == nil {
		return
	}
	if linger > 0 {
		if !quiet {
			fmt.Fprintf(stderr, "carbontrack: serving the final metrics at %s for %v (Ctrl-C or SIGTERM ends it sooner)\n",
				m.srv.URL(), linger)
		}
		tm := time.NewTimer(linger)
		defer tm.Stop()
	wait:
		for {
			select {
			case <-tm.C:
				break wait
			case <-m.srv.Done():
				break wait
			case <-done:
				break wait
			case s := <-sigc:
				if s != syscall.SIGPIPE {
					break wait
				}
			}
		}
	}
	_ = m.srv.Stop()
}
