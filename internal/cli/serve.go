package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/carbontrack/carbontrack/internal/cli/extras"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker/promexport/promaddr"
)

const serveHelp = `Usage: carbontrack serve [--metrics-addr ADDR] [--allow-public] [--interval D]
           [--run-id ID] [--node NAME] [--sysfs-root DIR] [--nvml-lib PATH]

Runs as a Prometheus exporter for the whole machine until interrupted
(Ctrl-C, SIGTERM): it measures every device "carbontrack devices" lists
(GPUs, CPU packages, DRAM) and serves at http://ADDR/metrics, per device:

  carbontrack_energy_joules_total{component,device,method}  energy since start, J
  carbontrack_power_watts{component,device,method}          power now, W
  carbontrack_source_up{source}                             0 once a device is lost
  carbontrack_start_time_seconds                            when measuring started

with the labels run_id and node on every metric when given. There are no
epochs and no emissions here (carbontrack run --metrics-addr has them): in
PromQL, kWh × gCO2e/kWh. A scrape reads no sensor; the devices are sampled
every --interval.

The address must be loopback (127.0.0.1:PORT, [::1]:PORT, localhost:PORT):
the metrics say what the machine runs and when. Let Prometheus run on this
node or scrape through an SSH tunnel; on a trusted network --allow-public
lets it listen on other addresses (":9464", "0.0.0.0:9464", a LAN address).
Without --allow-public a request must name the server localhost or a
loopback address (its Host header; 403 otherwise, against DNS rebinding).
See docs/multinode.md for runs over several nodes.

Examples:
  carbontrack serve
  carbontrack serve --metrics-addr 127.0.0.1:9464 --run-id llm-7b-r3 --node "$(hostname)"
  carbontrack serve --metrics-addr :9464 --allow-public --interval 1s
  carbontrack serve --sysfs-root /host/sys --nvml-lib /usr/lib64/libnvidia-ml.so.1

Environment: CARBONTRACK_METRICS_ADDR, CARBONTRACK_ALLOW_PUBLIC,
CARBONTRACK_INTERVAL, CARBONTRACK_RUN_ID, CARBONTRACK_NODE,
CARBONTRACK_SYSFS_ROOT, CARBONTRACK_NVML_LIBRARY and
CARBONTRACK_GPU_POWER_SAMPLING set the flags when they are not given (a
flag given wins; booleans: 1/0, true/false, yes/no, on/off).

Flags:
`

func runServe(ctx context.Context, args []string, _, stderr io.Writer) int {
	f := newFlags("serve", serveHelp, stderr)
	env := f.env
	addr := f.String("metrics-addr", promaddr.DefaultAddr, env("metrics-addr", "CARBONTRACK_METRICS_ADDR",
		"host:port to serve /metrics on, loopback unless --allow-public"))
	allowPublic := f.bool("allow-public", false, env("allow-public", "CARBONTRACK_ALLOW_PUBLIC",
		"allow a --metrics-addr that is not loopback: exposes the metrics to the network"))
	interval := f.Duration("interval", sampler.DefaultInterval, env("interval", "CARBONTRACK_INTERVAL", "sampling interval"))
	runID := f.String("run-id", "", env("run-id", "CARBONTRACK_RUN_ID", "add the label run_id to every metric"))
	node := f.String("node", "", env("node", "CARBONTRACK_NODE", "add the label node to every metric, such as the host name"))
	sysfsRoot := f.String("sysfs-root", "", env("sysfs-root", power.EnvSysfsRoot, "sysfs root for RAPL"))
	nvmlLib := f.String("nvml-lib", "", env("nvml-lib", power.EnvNVMLLibrary, "path of libnvidia-ml.so.1"))
	gpuSampling := f.bool("gpu-power-sampling", false, env("gpu-power-sampling", "CARBONTRACK_GPU_POWER_SAMPLING",
		"read GPU power instead of the energy counter"))
	if code, ok := f.parseNoArgs(args); !ok {
		return code
	}
	if *interval <= 0 {
		return f.usageError("%s must be positive, got %v", f.what("interval"), *interval)
	}
	// Check the address before discovering anything.
	if err := promaddr.Check(*addr, *allowPublic); err != nil {
		return f.usageError("%s: %s", f.what("metrics-addr"), cliError("serve", err))
	}
	if features.ServeSampler == nil {
		return delegate(ctx, "serve", "the exporter", stderr)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []power.Option{power.WithSysfsRoot(*sysfsRoot), power.WithNVMLLibrary(*nvmlLib), power.WithLogger(logger)}
	if *gpuSampling {
		opts = append(opts, power.WithGPUPowerSampling())
	}
	d, err := power.Discover(ctx, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack serve: %s\n", cliError("serve", err))
		return 1
	}
	defer d.Close()
	for _, u := range d.Unavailable {
		fmt.Fprintf(stderr, "carbontrack serve: not measured: %s: %s\n", u.Name, unavailableReason(u))
	}
	if len(d.Sources) == 0 {
		fmt.Fprintln(stderr, "carbontrack serve: no power source available here (see above; \"carbontrack devices\" says more)")
		return 1
	}

	smp, err := sampler.New(d.Sources, sampler.WithInterval(*interval), sampler.WithLogger(logger))
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack serve: %s\n", cliError("serve", err))
		return 2
	}
	if err := smp.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "carbontrack serve: %s\n", cliError("serve", err))
		return 1
	}
	defer smp.Stop()
	srv, err := features.ServeSampler(ctx, smp, extras.Metrics{
		Addr: *addr, AllowPublic: *allowPublic, RunID: *runID, Node: *node, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack serve: %s\n", cliError("serve", err))
		return 1
	}
	names := make([]string, 0, len(d.Sources))
	for _, s := range d.Sources {
		i := s.Info()
		names = append(names, fmt.Sprintf("%s (%s)", i.Name, i.Method))
	}
	fmt.Fprintf(stderr, "carbontrack serve: measuring %s every %v\n", strings.Join(names, ", "), *interval)
	fmt.Fprintf(stderr, "carbontrack serve: metrics at %s (Ctrl-C stops)\n", srv.URL())

	code := 0
	select {
	case <-ctx.Done():
	case <-srv.Done():
		code = 1 // serving failed; Stop says why
	}
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(stderr, "carbontrack serve: %s\n", cliError("serve", err))
		code = 1
	}
	smp.Stop()
	if code == 0 {
		fmt.Fprintln(stderr, "carbontrack serve: stopped")
	}
	return code
}
