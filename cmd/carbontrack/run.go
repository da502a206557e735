package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
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

The emission factor's zone is --zone (or --region); without one it is
located: a cloud metadata service (GCP, AWS, Azure), else the system's time
zone, else the world average with a warning. The report says which. An
unknown zone ends run before the command starts (exit 2). A live --provider
is asked in the background: the command starts at once on the zone's table
value, which stays in use if the provider does not answer.

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

// runFactor returns the tracker's options for the emission factor, checked
// as the tracker will check them, without the network: a bad zone or
// provider ends run before the command starts, and nothing waits for a live
// provider (the tracker asks it in the background, from the zone's table
// value).
func runFactor(o *runOptions) ([]tracker.Option, error) {
	var topts []tracker.Option
	switch {
	case o.intensity > 0:
		topts = append(topts, tracker.WithFixedIntensity(factor.GramsPerKWh(o.intensity)))
	default:
		topts = append(topts, tracker.WithProvider(o.provider))
		if o.providerURL != "" {
			topts = append(topts, tracker.WithFactorOptions(factor.WithBaseURL(o.providerURL)))
		}
		if o.location.Zone != "" {
			topts = append(topts, tracker.WithLocation(o.location))
		}
	}
	if err := tracker.CheckFactor(topts...); err != nil {
		if o.intensity > 0 {
			return nil, fmt.Errorf("--intensity: %w", err)
		}
		return nil, err
	}
	return topts, nil
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

	fopts, err := runFactor(&o)
	if err != nil {
		return fail(2, "%s", cliError("run", err))
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
	width := deps.termWidth(stderr)
	cons := newConsole(stdout, stderr, outTTY, deps.isTerminal(stderr), status, width)
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
		return startTracker(dctx, &o, fopts, pid, cons, budget)
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
			return fail(1, "cannot measure: %s", cliError("run", err))
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
			return fail(1, "cannot measure the command's process tree: %s (the command was killed)", cliError("run", err))
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
		return statusLine(st, began, time.Now(), width)
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
	for i := range out.Unavailable {
		out.Unavailable[i].Reason = plainReason(out.Unavailable[i].Name, out.Unavailable[i].Reason)
	}
	out.StoppedByBudget = o.enforce && stopping && strings.HasPrefix(stoppedBy, "budget")
	if plog != nil && plog.path != "" {
		out.Files = append(out.Files, plog.path)
	}
	if !o.quiet {
		printRunReport(stderr, &out, &rep)
	}
	if o.reportFile != "" {
		if err := writeJSONFile(o.reportFile, roundedJSON{&out}); err != nil {
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
		if err := encodeJSON(stdout, &out); err != nil {
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
func startTracker(ctx context.Context, o *runOptions, fopts []tracker.Option, pid int, cons *console,
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
	if len(d.Sources) == 0 {
		_ = d.Close()
		var why []string
		for _, u := range d.Unavailable {
			why = append(why, reasonText(u.Name, u.Reason()))
		}
		return nil, nil, fmt.Errorf("no power source available here (%s); \"carbontrack devices\" says more", strings.Join(why, "; "))
	}
	verbose := 1
	if o.quiet {
		verbose = 0
	}
	topts := []tracker.Option{
		tracker.WithSources(d.Sources), tracker.WithInterval(o.interval), tracker.WithPowerInterval(o.powerEvery),
		tracker.WithCheckpointInterval(o.checkpoint), tracker.WithPUE(o.pue),
		tracker.WithConsole(cons.messages("")), tracker.WithVerbose(verbose),
		tracker.WithLogger(logger), tracker.WithBudgetGrams(o.budgetG), tracker.WithBudgetKWh(o.budgetKWh),
		tracker.WithBudgetFunc(func(ev tracker.BudgetEvent) {
			select {
			case budget <- ev:
			default:
			}
		}),
	}
	topts = append(topts, fopts...)
	topts = append(topts, tracker.WithRunID(o.runID), tracker.WithNode(o.node), tracker.WithLeaseDir(o.leaseDir))
	if pid > 0 {
		topts = append(topts, tracker.WithProcess(pid))
	}
	if o.logDir != "" {
		topts = append(topts, tracker.WithLogDir(o.logDir), tracker.WithLogPrefix(o.logPrefix))
	}
	t, err := tracker.New(o.epochs, topts...)
	if err != nil {
		_ = d.Close()
		return nil, nil, err
	}
	// The zone's warning once the location is final (a cloud metadata
	// service may still name the region); Stop makes it final at the latest.
	cons.pending.Go(func() {
		<-t.Located()
		if w := t.Location().Warning; w != "" && !o.quiet {
			fmt.Fprintln(cons.messages("carbontrack: warning: "), w)
		}
	})
	// Report.Unavailable is empty with WithSources: keep discovery's.
	return t, d, nil
}

// cancelWait is how long run waits, once ctx is done, for the signal that
// may have ended it.
const cancelWait = 200 * time.Millisecond
