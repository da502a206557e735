package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/tracker"
)

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
	if o.metricsAddr != "" && features.ServeTracker == nil {
		return delegate(ctx, "run", o.metricsWhat, stderr)
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
	fopts = append(fopts, tracker.WithRunLabel(cmp.Or(o.label, redactedCommand(argv))))
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
	start := func(pid int) (*tracker.Tracker, error) {
		dctx := ctx
		if pid > 0 {
			// The command runs: a signal now is for it (the loop below
			// passes it on), not a reason to leave it unmeasured.
			dctx = context.WithoutCancel(ctx)
		}
		return startTracker(dctx, &o, fopts, pid, cons, budget)
	}
	var t *tracker.Tracker
	if !o.process {
		// The machine: measure from before the command starts.
		if t, err = start(0); err != nil {
			cons.finish()
			if code, ok := interrupted(); ok {
				return fail(code, notStarted)
			}
			return fail(1, "cannot measure: %s%s", cliError("run", err), devicesHint(err))
		}
	}
	// Ctrl-C while the provider or the devices were asked: the command
	// must not start only to be stopped.
	if code, ok := interrupted(); ok {
		if t != nil {
			t.Stop()
		}
		cons.finish()
		return fail(code, notStarted)
	}
	// When the command exits, every device is read before it is reaped:
	// the run ends on an exact reading, and a process view still sees the
	// command's CPU time (its own, and its children's) to the end.
	var live atomic.Pointer[tracker.Tracker]
	live.Store(t)
	waitc, err := startChild(cmd, o.keepCommand, func() {
		if lt := live.Load(); lt != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), exitReadTimeout)
			_ = lt.Refresh(rctx)
			cancel()
		}
	})
	if err != nil {
		if t != nil {
			t.Stop()
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
		if t, err = start(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			<-waitc
			cons.finish()
			return fail(1, "cannot measure the command's process tree: %s (the command was killed)%s", cliError("run", err), devicesHint(err))
		}
		live.Store(t)

	}
	ep.begin(withWork(t, o.workPerEpoch))
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
	cons.finish()

	rep := t.Report()
	st := t.Status()
	select {
	case <-budget:
		budgetPassed = true
	default:
	}
	out := buildRunJSON(argv, exitCode, sig, ended.Sub(began), &rep, &st, o.process)
	if cost, cur, err := estimate.OffsetCost(out.EmissionsG/1000, o.offsetPrice, o.currency); err == nil && cur != "" {
		out.OffsetCost, out.OffsetCurrency, out.OffsetPricePerTonne = cost, cur, o.offsetPrice
	}
	out.BudgetExceeded = out.BudgetExceeded || budgetPassed
	for i := range out.Unavailable {
		out.Unavailable[i].Reason = plainReason(out.Unavailable[i].Name, out.Unavailable[i].Reason)
	}
	out.StoppedByBudget = o.enforce && stopping && strings.HasPrefix(stoppedBy, "budget")
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

// startTracker discovers the devices (of the process tree pid, if not 0)
// and starts a tracker on them.
func startTracker(ctx context.Context, o *runOptions, fopts []tracker.Option, pid int, cons *console,
	budget chan<- tracker.BudgetEvent) (*tracker.Tracker, error) {
	logger := slog.New(slog.NewTextHandler(cons.messages("carbontrack: "), &slog.HandlerOptions{
		Level: slog.LevelError,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	verbose := 1
	if o.quiet {
		verbose = 0
	}
	topts := []tracker.Option{
		tracker.WithInterval(o.interval), tracker.WithPowerInterval(o.powerEvery),
		tracker.WithCheckpointInterval(o.checkpoint), tracker.WithPUE(o.pue),
		tracker.WithConsole(cons.messages("")), tracker.WithVerbose(verbose),
		tracker.WithLogger(logger), tracker.WithBudgetGrams(o.budgetG), tracker.WithBudgetKWh(o.budgetKWh),
		tracker.WithBudgetFunc(func(ev tracker.BudgetEvent) {
			select {
			case budget <- ev:
			default:
			}
		}),
		tracker.WithSysfsRoot(o.sysfsRoot), tracker.WithNVMLLibrary(o.nvmlLib),
	}
	if o.workUnit != "" {
		topts = append(topts, tracker.WithWorkUnit(o.workUnit))
	}
	if o.gpuSampling {
		topts = append(topts, tracker.WithGPUPowerSampling())
	}
	topts = append(topts, o.declaredOptions()...)
	topts = append(topts, fopts...)
	topts = append(topts, tracker.WithRunID(o.runID), tracker.WithNode(o.node), tracker.WithLeaseDir(o.leaseDir))
	if pid > 0 {
		topts = append(topts, tracker.WithProcess(pid))
	}
	if o.logDir != "" {
		topts = append(topts, tracker.WithLogDir(o.logDir), tracker.WithLogPrefix(o.logPrefix),
			tracker.WithPowerSeries(true))
	}
	t, err := tracker.NewContext(ctx, o.epochs, topts...)
	if err != nil {
		return nil, err
	}
	// The zone's warning once the location is final (a cloud metadata
	// service may still name the region); Stop makes it final at the latest.
	cons.pending.Go(func() {
		<-t.Located()
		if w := t.Location().Warning; w != "" && !o.quiet {
			fmt.Fprintln(cons.messages("carbontrack: warning: "), w)
		}
	})
	return t, nil
}

// devicesHint points at "carbontrack devices" when no device could be
// measured: it says, device by device, why and what fixes it.
func devicesHint(err error) string {
	if strings.Contains(err.Error(), "no power source") {
		return "; \"carbontrack devices\" says more"
	}
	return ""
}

// workMarker ends each epoch with a fixed work (--work-per-epoch).
type workMarker struct {
	*tracker.Tracker
	work float64
}

func (w workMarker) EpochEnd() { w.EpochEndWork(w.work) }

// withWork returns what the epoch counter drives: t, or t ending each epoch
// with work when work is given.
func withWork(t *tracker.Tracker, work float64) epochMarker {
	if work > 0 {
		return workMarker{Tracker: t, work: work}
	}
	return t
}
