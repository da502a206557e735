package tracker

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
)

// Defaults.
const (
	// DefaultPUE is the power usage effectiveness applied to measured energy:
	// 1.58, the average annual PUE of the Uptime Institute Global Data Center
	// Survey 2023 (Daniel Bizo, 2023), as carbontracker uses.
	DefaultPUE = 1.58
	// DefaultInterval is how often energy counters and the CPU and RAM
	// estimates are read between epoch boundaries: the sampler's default,
	// 30 s. Boundaries are read when they happen and Refresh reads on
	// demand, so the interval only sets how stale Status may be without
	// Refresh; with a log directory the sources are read at least every
	// checkpoint interval (10 s).
	DefaultInterval = sampler.DefaultInterval
	// DefaultPowerInterval is how often power-only sources (GPUs without an
	// energy counter or sample buffer) are read: 100 ms, which keeps a 1 Hz
	// load within 1 % (carbontracker samples every 1 s, which aliases it).
	DefaultPowerInterval = sampler.DefaultPowerInterval
	// DefaultIntensityRefresh is how often the emission factor is fetched
	// again (carbontracker: every 15 minutes).
	DefaultIntensityRefresh = 15 * time.Minute
	// DefaultPrecision is the number of decimals in the console block and the
	// carbontracker logs (carbontracker's decimal_precision).
	DefaultPrecision = 12
	// DefaultCheckpointInterval is how often the run's totals so far are
	// appended to the JSON lines and synced, epochs or not: a process
	// killed with SIGKILL loses at most this much.
	DefaultCheckpointInterval = 10 * time.Second
	// DefaultStopTimeout bounds how long Stop waits for the sampler's final
	// reading and the tracker's goroutines, in all.
	DefaultStopTimeout = 10 * time.Second
)

// Option configures New.
type Option func(*options)

type options struct {
	epochsBeforePred int
	monitorEpochs    int
	interval         time.Duration
	powerInterval    time.Duration
	kinds            []power.Kind
	pid              int
	logDir           string
	logPrefix        string
	verbose          int
	console          io.Writer
	precision        int
	interpretable    bool
	confirm          io.Reader
	pue              float64
	provider         factor.Provider
	providerName     string
	factorOpts       []factor.Option
	zone             string
	location         factor.Location
	runID, node      string
	rank, localRank  int
	rankSet          bool
	leaseDir         string
	leaseSet         bool
	gpuSampling      bool
	refresh          time.Duration
	budgetGrams      float64
	budgetKWh        float64
	onBudget         func(BudgetEvent)
	cancel           context.CancelCauseFunc
	sysfsRoot        string
	nvmlLibrary      string
	logger           *slog.Logger
	sources          []power.Source
	sourcesSet       bool
	now              func() time.Time
	project          string
	stopTimeout      time.Duration
	checkpoint       time.Duration
	jsonl, csv       bool
	powerSeries      bool // sink_power.go
	workUnit         string
	label            string // label.go

	declared []power.DeclaredPower // declared.go
}

func defaultOptions() options {
	return options{
		epochsBeforePred: 1,
		monitorEpochs:    -1,
		interval:         DefaultInterval,
		powerInterval:    DefaultPowerInterval,
		verbose:          1,
		console:          os.Stdout,
		precision:        DefaultPrecision,
		interpretable:    true,
		pue:              DefaultPUE,
		refresh:          DefaultIntensityRefresh,
		logger:           slog.New(slog.DiscardHandler),
		now:              time.Now,
		project:          "carbontrack",
		stopTimeout:      DefaultStopTimeout,
		checkpoint:       DefaultCheckpointInterval,
		jsonl:            true,
		csv:              true,
		rank:             -1,
		localRank:        -1,
	}
}

// WithEpochsBeforePred sets after how many epochs the projection is made
// and printed (default 1; -1: all epochs; 0: no projection),
// carbontracker's epochs_before_pred. It is remade at every later epoch's
// end (Projection, Status, a JSON lines record each time; from 3 epochs with
// a trend and from 2 with an interval) and the budget checked against it;
// the console block is printed once, as carbontracker's.
func WithEpochsBeforePred(n int) Option { return func(o *options) { o.epochsBeforePred = n } }

// WithMonitorEpochs sets how many epochs are monitored before the actual
// consumption is reported and monitoring ends (default -1: all),
// carbontracker's monitor_epochs.
func WithMonitorEpochs(n int) Option { return func(o *options) { o.monitorEpochs = n } }

// WithInterval sets how often energy counters and the CPU and RAM
// estimates are read between epoch boundaries (default DefaultInterval).
// Epoch boundaries are read when they happen whatever the interval.
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithPowerInterval sets how often power-only sources are read (default
// DefaultPowerInterval). Longer periods alias on loads that change faster
// than twice the period; a warning is logged above the default.
func WithPowerInterval(d time.Duration) Option { return func(o *options) { o.powerInterval = d } }

// WithComponents limits measurement to the given kinds (default: gpu, cpu and
// dram), carbontracker's components. A kind named twice counts once.
func WithComponents(kinds ...power.Kind) Option {
	return func(o *options) { o.kinds = append([]power.Kind(nil), kinds...) }
}

// WithProcess measures only the devices running the process tree rooted at
// pid (power.WithProcess), carbontracker's devices_by_pid. Use os.Getpid().
// For a child process, call Refresh once it has exited and before it is
// reaped (waitid with WNOWAIT, as "carbontrack run --process" does): a
// process reaped outside the tree takes its CPU time since the previous
// read with it.
func WithProcess(pid int) Option { return func(o *options) { o.pid = pid } }

// WithLogDir writes the carbontracker log pair, JSON lines and emissions.csv
// to dir (created if needed). Without it nothing is written to disk.
func WithLogDir(dir string) Option { return func(o *options) { o.logDir = dir } }

// WithLogPrefix prefixes the log file names, carbontracker's log_file_prefix.
func WithLogPrefix(p string) Option { return func(o *options) { o.logPrefix = p } }

// WithVerbose sets the console verbosity: 0 prints nothing (but the
// question of WithStopAndConfirm), 1 (default) the projection and the
// actual consumption, 2 also the intensity used.
func WithVerbose(level int) Option { return func(o *options) { o.verbose = level } }

// WithConsole sets where the console blocks go (default os.Stdout).
func WithConsole(w io.Writer) Option { return func(o *options) { o.console = w } }

// WithPrecision sets the number of decimals printed (default 12).
func WithPrecision(n int) Option { return func(o *options) { o.precision = n } }

// WithInterpretable turns the interpretable equivalents (km by car, ...) on
// the console on or off (default on). The output log always has them, as
// carbontracker's parser expects.
func WithInterpretable(on bool) Option { return func(o *options) { o.interpretable = on } }

// WithStopAndConfirm pauses EpochEnd after the projection and asks
// "Continue training (y/n)?", reading the answer from in (os.Stdin for a
// terminal). The question is printed on the console whatever the verbosity
// (on stderr when the console is nil or io.Discard), since EpochEnd waits
// for its answer. "n" stops the tracker's run: the WithCancel function is
// called with ErrStoppedByUser and Report.StoppedByUser is set.
func WithStopAndConfirm(in io.Reader) Option { return func(o *options) { o.confirm = in } }

// WithPUE sets the power usage effectiveness (default DefaultPUE; 1 for a
// machine measured at the wall).
func WithPUE(pue float64) Option { return func(o *options) { o.pue = pue } }

// WithFactor sets the emission factor's provider (default: WithProvider's,
// for the zone of WithZone or as located). The tracker never waits for it:
// until its first answer, and when it fails, the zone's table value is used.
func WithFactor(p factor.Provider) Option { return func(o *options) { o.provider = p } }

// WithProvider names the emission factor's provider, built by factor.ByName
// for the zone: "static" (the default: the embedded tables, offline),
// "live", "electricitymaps", "ukgrid" or "energidataservice". A live
// provider is asked in the background: the zone's table value is used until
// it answers, and whenever it fails. An unknown name makes New fail.
func WithProvider(name string) Option { return func(o *options) { o.providerName = name } }

// WithFactorOptions passes options to factor.ByName and to the location of
// the machine (factor.Locate): a base URL, a token, timeouts, the cloud
// metadata services' URL or their switch.
func WithFactorOptions(opts ...factor.Option) Option {
	return func(o *options) { o.factorOpts = append(o.factorOpts, opts...) }
}

// WithFixedIntensity uses a fixed emission factor in gCO2e/kWh.
func WithFixedIntensity(v factor.GramsPerKWh) Option {
	return func(o *options) { o.provider = factor.Fixed(v) }
}

// WithZone sets the zone of the emission factor: a country by ISO code or
// name ("DE", "DEU", "Germany"), a cloud region ("gcp:europe-west4"), an
// Electricity Maps zone ("US-CAL-CISO", "DK-DK1"); see factor.CheckZone. An
// unknown zone makes New fail with ErrUnknownZone. Without it the tracker
// locates the machine (factor.Locate: CARBONTRACK_ZONE, a cloud metadata
// service in the background, the time zone) and uses the world average,
// with a warning, only when nothing names a zone.
func WithZone(zone string) Option { return func(o *options) { o.zone = zone } }

// WithLocation sets the zone with how it was found, for callers that read
// the zone from their own flags (factor.Given(zone, "--zone")) or located
// the machine themselves (factor.Locate). It takes precedence over
// WithZone. A zone located other than by cloud metadata may still be
// replaced by the region a cloud metadata service names.
func WithLocation(l factor.Location) Option { return func(o *options) { o.location = l } }

// WithIntensityRefresh sets how often the emission factor is fetched again
// by the tracker's background goroutine (default 15 minutes).
func WithIntensityRefresh(d time.Duration) Option { return func(o *options) { o.refresh = d } }

// WithBudgetGrams sets a budget in grams CO2e: when the projection or the
// actual emissions pass it, the budget function runs and the WithCancel
// function is called with ErrBudgetExceeded, once.
func WithBudgetGrams(g float64) Option { return func(o *options) { o.budgetGrams = g } }

// WithBudgetKWh sets a budget in kWh of facility energy (PUE included), like
// WithBudgetGrams.
func WithBudgetKWh(kwh float64) Option { return func(o *options) { o.budgetKWh = kwh } }

// WithBudgetFunc sets the function run, once, when the budget is passed
// (by the actual consumption, or by a projection). It runs on a goroutine
// the tracker owns, never on the training loop's or the sampler's and never
// under a lock, so it may block a while and may call any method of the
// tracker, Stop included (Stop then does not wait for it).
func WithBudgetFunc(f func(BudgetEvent)) Option { return func(o *options) { o.onBudget = f } }

// WithCancel sets a function called with ErrBudgetExceeded (on the budget
// function's goroutine, after it) or ErrStoppedByUser (on EpochEnd's
// caller's), such as the cancel of the training loop's context.
func WithCancel(cancel context.CancelCauseFunc) Option { return func(o *options) { o.cancel = cancel } }

// WithSysfsRoot reads RAPL under root (power.WithSysfsRoot).
func WithSysfsRoot(root string) Option { return func(o *options) { o.sysfsRoot = root } }

// WithNVMLLibrary loads NVML from path (power.WithNVMLLibrary).
func WithNVMLLibrary(path string) Option { return func(o *options) { o.nvmlLibrary = path } }

// WithLogger logs the tracker's decisions, misuse and failures to l
// (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithSources measures these sources instead of discovering the machine's
// (tests, examples, custom hardware). The tracker does not close them.
func WithSources(s []power.Source) Option {
	return func(o *options) { o.sources, o.sourcesSet = append([]power.Source(nil), s...), true }
}

// WithClock sets the clock (default time.Now, which is the fake clock inside
// a testing/synctest bubble). It is never called under the tracker's lock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithProjectName sets emissions.csv's project_name (default "carbontrack").
func WithProjectName(name string) Option { return func(o *options) { o.project = name } }

// WithStopTimeout bounds how long Stop waits, in all, for the sampler's
// final reading (a hung sensor read), the budget function, the carbon-aware
// advice, the intensity goroutine and the records to be written (default
// DefaultStopTimeout). What is not done in time is named in
// Report.StopTimeouts.
func WithStopTimeout(d time.Duration) Option { return func(o *options) { o.stopTimeout = d } }

// WithCheckpointInterval sets how often, with a log directory, the run's
// totals so far are appended to the JSON lines and synced (default
// DefaultCheckpointInterval), epochs or not, so that a killed process loses
// at most this much; the sources are read at least this often.
func WithCheckpointInterval(d time.Duration) Option { return func(o *options) { o.checkpoint = d } }

// WithJSONLines turns the JSON lines file on or off (default on, with a log
// directory).
func WithJSONLines(on bool) Option { return func(o *options) { o.jsonl = on } }

// WithCSV turns emissions.csv on or off (default on, with a log directory).
func WithCSV(on bool) Option { return func(o *options) { o.csv = on } }

// WithRunID names the run, the same on every node and rank of a job; every
// record of the logs carries it. Default: CARBONTRACK_RUN_ID, else
// SLURM_JOB_ID, else TORCHELASTIC_RUN_ID.
func WithRunID(id string) Option { return func(o *options) { o.runID = id } }

// WithNode names the machine in every record. Default: CARBONTRACK_NODE,
// else the host name.
func WithNode(name string) Option { return func(o *options) { o.node = name } }

// WithRank sets this process's global rank and its rank on the machine (-1:
// unknown) instead of reading the launcher's environment (RANK and
// LOCAL_RANK of torchrun, SLURM_PROCID and SLURM_LOCALID, Open MPI's). With
// a local rank and several GPUs visible, the tracker counts the GPU of its
// local rank only (the others are the other ranks'), the CPU and RAM once
// per machine; WithRank(-1, -1) measures every visible GPU.
func WithRank(rank, localRank int) Option {
	return func(o *options) { o.rank, o.localRank, o.rankSet = rank, localRank, true }
}

// WithLeaseDir sets the directory through which the trackers of one machine
// share its devices (default: LeaseDirEnv, else carbontrack-leases in the
// temporary directory): each device is counted by the one tracker that
// holds its lease, and the others report it in Report.Elsewhere. "off"
// turns the coordination off. It applies to the devices the tracker
// discovers, and to those of WithSources only when given; never with
// WithProcess (a process tree's share is its own).
func WithLeaseDir(dir string) Option {
	return func(o *options) { o.leaseDir, o.leaseSet = dir, true }
}

// WithGPUPowerSampling reads power-only GPUs through the driver's power
// sample buffer where it has one (power.WithGPUPowerSampling). It applies
// to the devices the tracker discovers.
func WithGPUPowerSampling() Option { return func(o *options) { o.gpuSampling = true } }

// WithWorkUnit names the unit of the work that EpochEndWork reports, in the
// plural ("tokens", "samples", "images"): the Report (Report.WorkUnit), the
// JSON lines' final record and the output log's per-unit line say it.
// Default: "units" in the output log, empty elsewhere. It only names the
// unit; EpochEndWork records the work, with or without it.
func WithWorkUnit(unit string) Option { return func(o *options) { o.workUnit = unit } }

// WithDeclaredPower declares a device of kind that nothing can read, named
// device ("Apple M2 GPU"), drawing watts all the time: a shorthand for
// WithDeclared with a utilisation of 1. carbontracker's --sim-gpu and
// --sim-cpu, CodeCarbon's force_cpu_power.
func WithDeclaredPower(kind power.Kind, device string, watts float64) Option {
	return WithDeclared(power.DeclaredPower{Kind: kind, Device: device, Power: power.Watts(watts)})
}

// WithDeclared declares a device that nothing can read: its energy is
// d.Power × d.Utilization × the time measured, exactly, with method
// "declared" in every output. It replaces the estimates of its kind (the CPU
// from load and TDP, RAM from its size); measured devices of its kind are
// kept and the declared one counted besides them, with a warning logged,
// as another device. Each call adds a device. It applies to the devices the
// tracker discovers and to those of WithSources, but not to kinds that
// WithComponents leaves out; the whole device is counted, also with
// WithProcess. New fails when power.DeclaredPower.Check does.
func WithDeclared(d power.DeclaredPower) Option {
	return func(o *options) { o.declared = append(o.declared, d) }
}
