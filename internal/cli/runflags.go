package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport/promaddr"
)

// The flags of carbontrack run, their environment twins and their checks.

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
	location     factor.Location // the zone given, checked; zero when none
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
	metricsWhat  string // --metrics-addr as messages name it (or its twin)
	allowPublic  bool
	runID, node  string
	label        string
	leaseDir     string
	linger       time.Duration
	// offsetPrice and currency price the offsetting of the emissions
	// (none assumed).
	offsetPrice float64
	currency    string
	// workPerEpoch is the work each epoch does (0: none given), in
	// workUnit: each epoch end reports it (EpochEndWork).
	workPerEpoch float64
	workUnit     string
	// declared are the devices of --declare, measured by nobody.
	declared declareValue
}

// runFlagSet declares run's flags into o. Each flag has an environment
// twin, listed in its twins (flag name → variable); to add a flag, add a
// line here.
func runFlagSet(o *runOptions, stderr io.Writer) *cliFlags {
	fs := newFlags("run", strings.Replace(runHelp, "{{presets}}\n", presetHelp(), 1), stderr)
	env := fs.env
	fs.IntVar(&o.epochs, "epochs", 1, env("epochs", "CARBONTRACK_EPOCHS", "number of epochs the command runs (needs --epoch-pattern, --epoch-start-pattern or --epochs-from)"))
	fs.StringVar(&o.epochPattern, "epoch-pattern", "", env("epoch-pattern", "CARBONTRACK_EPOCH_PATTERN", "regular expression (Go syntax): an output line matching it ends an epoch"))
	fs.StringVar(&o.epochStartPattern, "epoch-start-pattern", "", env("epoch-start-pattern", "CARBONTRACK_EPOCH_START_PATTERN",
		"regular expression (Go syntax): an output line matching it starts an epoch, ending the open one (e.g. '^Epoch [0-9]+/')"))
	fs.StringVar(&o.epochsFrom, "epochs-from", "", env("epochs-from", "CARBONTRACK_EPOCHS_FROM",
		"read the epochs from what a trainer prints: "+strings.Join(presetNames(), ", ")+" (e.g. --epochs 10 --epochs-from keras)"))
	fs.boolVar(&o.keepCommand, "keep-command", false, env("keep-command", "CARBONTRACK_KEEP_COMMAND",
		"leave the command running if carbontrack itself is killed (by default it then gets SIGTERM; Linux only)"))
	fs.DurationVar(&o.interval, "interval", tracker.DefaultInterval, env("interval", "CARBONTRACK_INTERVAL", "how often energy counters and the CPU/RAM estimates are read between epoch boundaries (boundaries are read when they happen)"))
	fs.DurationVar(&o.powerEvery, "power-interval", tracker.DefaultPowerInterval, env("power-interval", "CARBONTRACK_POWER_INTERVAL", "how often GPUs without an energy counter are read (above 100ms a load changing at 1 Hz may alias)"))
	fs.DurationVar(&o.checkpoint, "checkpoint-interval", tracker.DefaultCheckpointInterval, env("checkpoint-interval", "CARBONTRACK_CHECKPOINT_INTERVAL", "how often the run's totals so far are appended to the JSON lines and synced (a kill loses at most this), and the power series gets a point"))
	fs.Float64Var(&o.pue, "pue", tracker.DefaultPUE, env("pue", "CARBONTRACK_PUE", "power usage effectiveness, 1 to 5 (1: measured at the wall)"))
	fs.StringVar(&o.zone, "zone", "", env("zone", zoneEnv, "country or grid zone of the emission factor (FR, DK1, US-CAL-CISO, ...; default: located)"))
	fs.StringVar(&o.region, "region", "", env("region", regionEnv, "cloud region instead of a zone, e.g. gcp:europe-west4"))
	fs.Float64Var(&o.intensity, "intensity", 0, env("intensity", "CARBONTRACK_INTENSITY", "fixed emission factor in g CO2e/kWh (overrides --zone, --region and --provider)"))
	fs.StringVar(&o.provider, "provider", "static", env("provider", "CARBONTRACK_PROVIDER", strings.Join(factor.ProviderNames(), ", ")))
	fs.StringVar(&o.providerURL, "provider-url", "", env("provider-url", "CARBONTRACK_PROVIDER_URL", "base URL of the live provider's API"))
	fs.StringVar(&o.logDir, "log-dir", "carbontrack-logs", env("log-dir", "CARBONTRACK_LOG_DIR", "directory of the logs (created); empty: no logs"))
	fs.StringVar(&o.logPrefix, "log-prefix", "", env("log-prefix", "CARBONTRACK_LOG_PREFIX", "prefix of the log file names"))
	fs.StringVar(&o.sysfsRoot, "sysfs-root", "", env("sysfs-root", power.EnvSysfsRoot, "sysfs root for RAPL"))
	fs.StringVar(&o.nvmlLib, "nvml-lib", "", env("nvml-lib", power.EnvNVMLLibrary, "path of libnvidia-ml.so.1"))
	fs.boolVar(&o.gpuSampling, "gpu-power-sampling", false, env("gpu-power-sampling", "CARBONTRACK_GPU_POWER_SAMPLING", "read GPU power instead of the energy counter"))
	fs.Float64Var(&o.budgetG, "budget", 0, env("budget", "CARBONTRACK_BUDGET", "emissions budget in grams CO2e (0: none)"))
	fs.Float64Var(&o.budgetKWh, "budget-kwh", 0, env("budget-kwh", "CARBONTRACK_BUDGET_KWH", "energy budget in kWh, PUE included (0: none)"))
	fs.boolVar(&o.enforce, "enforce-budget", false, env("enforce-budget", "CARBONTRACK_ENFORCE_BUDGET", "stop the command when the projection or the consumption passes the budget"))
	fs.DurationVar(&o.grace, "grace-period", 10*time.Second, env("grace-period", "CARBONTRACK_GRACE_PERIOD", "time between SIGTERM and SIGKILL when carbontrack stops the command"))
	fs.boolVar(&o.process, "process", false, env("process", "CARBONTRACK_PROCESS", "measure only the command's process tree: its GPUs and its share of CPU and memory"))
	fs.boolVar(&o.quiet, "quiet", false, env("quiet", "CARBONTRACK_QUIET", "print nothing of carbontrack's own but errors and the stopping of the command (--json still prints)"))
	fs.boolVar(&o.noStatus, "no-status", false, env("no-status", "CARBONTRACK_NO_STATUS", "no live status line, even on a terminal"))
	fs.boolVar(&o.asJSON, "json", false, env("json", "CARBONTRACK_JSON", "write the final report as JSON to stdout, after the command's output (its last lines; --report-file is cleaner for programs)"))
	fs.StringVar(&o.reportFile, "report-file", "", env("report-file", "CARBONTRACK_REPORT_FILE", "write the final report as JSON to this file"))
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", env("metrics-addr", "CARBONTRACK_METRICS_ADDR", "serve Prometheus metrics on this host:port while the command runs, loopback unless --allow-public (e.g. 127.0.0.1:9464)"))
	fs.boolVar(&o.allowPublic, "allow-public", false, env("allow-public", "CARBONTRACK_ALLOW_PUBLIC", "let --metrics-addr listen on a non-loopback address (this exposes the run's data)"))
	fs.StringVar(&o.label, "label", "", env("label", "CARBONTRACK_LABEL", "the run's name in the logs, the plots and the HTML and --format reports (default: the command line, with passwords in URLs and the values of key, token, secret and password options masked)"))
	fs.StringVar(&o.runID, "run-id", "", env("run-id", "CARBONTRACK_RUN_ID", "label run_id on every metric and record, the same on every node of a run (default: SLURM_JOB_ID or TORCHELASTIC_RUN_ID)"))
	fs.StringVar(&o.node, "node", "", env("node", "CARBONTRACK_NODE", "label node on every metric and record (default: the host name)"))
	fs.StringVar(&o.leaseDir, "lease-dir", "", env("lease-dir", tracker.LeaseDirEnv, "directory through which the trackers of this machine share its devices, each counted once (default: carbontrack-leases in the temporary directory; off: no sharing)"))
	fs.DurationVar(&o.linger, "metrics-linger", 0, env("metrics-linger", "CARBONTRACK_METRICS_LINGER", "keep serving the final metrics this long after the command ends and the report is written (one scrape interval lets Prometheus see the totals; Ctrl-C or SIGTERM ends it sooner)"))
	fs.Float64Var(&o.offsetPrice, "offset-price", 0, env("offset-price", "CARBONTRACK_OFFSET_PRICE",
		"price per tonne CO2e to cost offsetting the run's emissions (with --currency); none is assumed"))
	fs.StringVar(&o.currency, "currency", "", env("currency", "CARBONTRACK_CURRENCY", "ISO 4217 currency of --offset-price, e.g. EUR"))
	fs.Float64Var(&o.workPerEpoch, "work-per-epoch", 0, env("work-per-epoch", "CARBONTRACK_WORK_PER_EPOCH",
		"work each epoch does, in --work-unit (e.g. 4e6 tokens): the report and logs then give kWh and g CO2e per million units (0: none)"))
	fs.StringVar(&o.workUnit, "work-unit", "", env("work-unit", "CARBONTRACK_WORK_UNIT",
		"unit of --work-per-epoch, plural (tokens, samples, images; default: units)"))
	fs.Var(&o.declared, "declare", env("declare", declareEnv, declareUsage))
	return fs
}

// parseRunFlags parses run's command line; code is -1 when the command
// should run.
func parseRunFlags(args []string, stderr io.Writer) (o runOptions, argv []string, re *regexp.Regexp, code int) {
	fs := runFlagSet(&o, stderr)
	twins := fs.twins
	usage := func(format string, a ...any) (runOptions, []string, *regexp.Regexp, int) {
		return o, nil, nil, fs.usageError(format, a...)
	}
	// The command line first, then the environment for the flags it left
	// out: each flag knows which layer set it.
	argv, code, ok := fs.parse(args, false)
	if !ok {
		return o, nil, nil, code
	}
	onCmdLine, fromEnv := fs.onCmdLine, fs.fromEnv
	epochsSet := fs.given("epochs")
	// --zone and --region name the same thing: one given on the command
	// line wins over the other's twin; both in one layer are a mistake. The
	// zone is checked with the provider (runFactor) before anything
	// starts; the tracker locates the machine when none is given.
	if o.intensity == 0 {
		loc, ok, err := givenZone(fs)
		if err != nil {
			return usage("%v", err)
		}
		if ok {
			o.location = loc
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
	flagName := fs.what
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
	switch {
	case len(argv) == 0:
		return usage("no command given: carbontrack run [flags] -- COMMAND [ARGS...]")
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
		return usage("%s must be positive, got %v", flagName("interval"), o.interval)
	case o.powerEvery <= 0:
		return usage("%s must be positive, got %v", flagName("power-interval"), o.powerEvery)
	case o.checkpoint <= 0:
		return usage("%s must be positive, got %v", flagName("checkpoint-interval"), o.checkpoint)
	case !(o.pue >= 1 && o.pue <= 5):
		return usage("%s must be in [1, 5], got %v", flagName("pue"), o.pue)
	case o.intensity < 0 || math.IsNaN(o.intensity):
		return usage("--intensity must not be negative")
	case o.budgetG < 0 || o.budgetKWh < 0:
		return usage("budgets must not be negative")
	case o.enforce && o.budgetG == 0 && o.budgetKWh == 0:
		return usage("--enforce-budget needs --budget or --budget-kwh")
	case o.grace <= 0:
		return usage("%s must be positive, got %v", flagName("grace-period"), o.grace)
	case o.linger < 0:
		return usage("--metrics-linger must not be negative")
	case offsetErr(o) != nil:
		return usage("%v", offsetErr(o))
	case !(o.workPerEpoch >= 0) || math.IsInf(o.workPerEpoch, 0):
		return usage("%s must be a finite number, at least 0, got %v", flagName("work-per-epoch"), o.workPerEpoch)
	}
	if o.metricsAddr != "" {
		if err := promaddr.Check(o.metricsAddr, o.allowPublic); err != nil {
			return usage("%s: %s", flagName("metrics-addr"), cliError("run", err))
		}
		o.metricsWhat = flagName("metrics-addr")
	}
	return o, argv, re, -1
}

// offsetErr checks --offset-price and --currency as the estimator does.
func offsetErr(o runOptions) error { return checkOffset(o.offsetPrice, o.currency) }

// declareEnv is --declare's twin.
const declareEnv = "CARBONTRACK_DECLARE"

// declareForm is the form of one --declare value.
const declareForm = "KIND=WATTS[@UTIL][,NAME] (KIND gpu, cpu or dram; UTIL a fraction or a percentage), e.g. 'gpu=15W@0.8,Apple M2 GPU'"

const declareUsage = "declare the power of a device nothing can read, " + declareForm +
	"; counted as method \"declared\", replacing the estimate of its kind; repeat, or separate with ';', for several"

// declareValue is --declare: a device per value, or per ';'-separated part
// of one. It is a flag.Value.
type declareValue []power.DeclaredPower

func (d *declareValue) String() string {
	if d == nil {
		return ""
	}
	var parts []string
	for _, p := range *d {
		s := fmt.Sprintf("%s=%sW", p.Kind, strconv.FormatFloat(float64(p.Power), 'g', -1, 64))
		if p.Utilization != 0 {
			s += "@" + strconv.FormatFloat(p.Utilization, 'g', -1, 64)
		}
		if p.Device != "" {
			s += "," + p.Device
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ";")
}

// Set adds the devices of v.
func (d *declareValue) Set(v string) error {
	for _, part := range strings.Split(v, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		p, err := parseDeclare(part)
		if err != nil {
			return err
		}
		*d = append(*d, p)
	}
	return nil
}

// parseDeclare reads one device of --declare: KIND=WATTS[@UTIL][,NAME].
func parseDeclare(s string) (power.DeclaredPower, error) {
	bad := func(why string, a ...any) (power.DeclaredPower, error) {
		return power.DeclaredPower{}, fmt.Errorf("%s: want %s", fmt.Sprintf(why, a...), declareForm)
	}
	kind, rest, ok := strings.Cut(s, "=")
	if !ok {
		return bad("%q has no '='", strings.TrimSpace(s))
	}
	p := power.DeclaredPower{Kind: power.Kind(strings.ToLower(strings.TrimSpace(kind)))}
	switch p.Kind {
	case power.KindGPU, power.KindCPU, power.KindDRAM:
	default:
		return bad("unknown kind %q", strings.TrimSpace(kind))
	}
	spec, name, _ := strings.Cut(rest, ",")
	p.Device = strings.TrimSpace(name)
	watts, util, hasUtil := strings.Cut(strings.TrimSpace(spec), "@")
	watts = strings.TrimSpace(watts)
	w, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(watts, "W"), "w")), 64)
	if err != nil || !(w > 0) || w > float64(power.MaxDeclaredPower) {
		return bad("%s power %q is not a positive number of watts", p.Kind, watts)
	}
	p.Power = power.Watts(w)
	if hasUtil {
		util = strings.TrimSpace(util)
		u, err := strconv.ParseFloat(strings.TrimSuffix(util, "%"), 64)
		if strings.HasSuffix(util, "%") {
			u /= 100
		}
		if err != nil || !(u > 0 && u <= 1) {
			return bad("%s utilisation %q is not in (0, 1] (or (0, 100]%%)", p.Kind, util)
		}
		p.Utilization = u
	}
	return p, p.Check()
}

// declaredOptions are the tracker options of --declare.
func (o runOptions) declaredOptions() []tracker.Option {
	var opts []tracker.Option
	for _, d := range o.declared {
		opts = append(opts, tracker.WithDeclared(d))
	}
	return opts
}

// declare adds the devices of --declare to d (power.Discovery.Declare),
// writing its warnings to stderr.
func declare(d *power.Discovery, declared declareValue, stderr io.Writer) error {
	if len(declared) == 0 {
		return nil
	}
	srcs, err := power.NewDeclaredSources(declared...)
	if err != nil {
		return err
	}
	for _, w := range d.Declare(srcs...) {
		fmt.Fprintf(stderr, "carbontrack: warning: %s\n", plainError(errors.New(w)))
	}
	return nil
}
