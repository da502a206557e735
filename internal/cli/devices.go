package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
)

const devicesHelp = `Usage: carbontrack devices [flags]

Lists each power source carbontrack can read on this machine (kind gpu, cpu
or dram; the device; the method: counter, sampled or estimated), from NVML,
hwmon (AMD and Intel GPUs, NVIDIA Grace), RAPL or an estimate, and each one it
cannot, with the reason. With --measure it samples for that long and adds
the energy and average power of each source.

Examples:
  carbontrack devices
  carbontrack devices --json --measure 10s
  carbontrack devices --sysfs-root /host/sys --nvml-lib /usr/lib64/libnvidia-ml.so.1

Flags:
`

// devicesJSON is the --json document.
type devicesJSON struct {
	Sources     []sourceJSON      `json:"sources"`
	Unavailable []unavailableJSON `json:"unavailable"`
	DurationS   *float64          `json:"duration_s,omitempty"`
}

type sourceJSON struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Device string `json:"device"`
	Method string `json:"method"`
	Detail string `json:"detail"`
	// Uncertainty is an estimated source's relative uncertainty
	// (power.Info.Uncertainty) and UncertaintySource where it comes from,
	// or that it is not quantified; both left out for measured sources.
	Uncertainty       float64  `json:"uncertainty,omitempty"`
	UncertaintySource string   `json:"uncertainty_source,omitempty"`
	UUID              string   `json:"uuid,omitempty"`
	EnergyJ           *float64 `json:"energy_j"`
	AvgPowerW         *float64 `json:"avg_power_w"`
	Error             string   `json:"error,omitempty"`
}

type unavailableJSON struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func runDevices(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("devices", devicesHelp, stderr)
	env := f.env
	asJSON := f.bool("json", false, "print JSON instead of a table")
	measure := f.Duration("measure", 0, "sample for this long (e.g. 10s) and report energy and average power")
	sysfsRoot := f.String("sysfs-root", "", env("sysfs-root", power.EnvSysfsRoot, "sysfs root for RAPL and hwmon"))
	nvmlLib := f.String("nvml-lib", "", env("nvml-lib", power.EnvNVMLLibrary, "path of libnvidia-ml.so.1"))
	interval := f.Duration("interval", sampler.DefaultInterval, env("interval", "CARBONTRACK_INTERVAL", "sampling interval with --measure"))
	gpuSampling := f.bool("gpu-power-sampling", false, env("gpu-power-sampling", "CARBONTRACK_GPU_POWER_SAMPLING", "read GPU power instead of the energy counter"))
	var declared declareValue
	f.Var(&declared, "declare", env("declare", declareEnv, declareUsage))
	if code, ok := f.parseNoArgs(args); !ok {
		return code
	}
	switch {
	case *measure < 0:
		return f.usageError("--measure must not be negative")
	case *interval <= 0:
		return f.usageError("%s must be positive, got %v", f.what("interval"), *interval)
	}

	opts := []power.Option{power.WithSysfsRoot(*sysfsRoot), power.WithNVMLLibrary(*nvmlLib)}
	if *gpuSampling {
		opts = append(opts, power.WithGPUPowerSampling())
	}
	d, err := power.Discover(ctx, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack devices: %s\n", plainError(err))
		return 1
	}
	defer d.Close()
	if err := declare(d, declared, stderr); err != nil {
		fmt.Fprintf(stderr, "carbontrack devices: %s\n", plainError(err))
		return 2
	}

	out := devicesJSON{Sources: []sourceJSON{}, Unavailable: []unavailableJSON{}}
	for _, s := range d.Sources {
		i := s.Info()
		out.Sources = append(out.Sources, sourceJSON{Name: i.Name, Kind: string(i.Kind), Device: i.Device,
			Method: string(i.Method), Detail: i.Detail, UUID: i.UUID,
			Uncertainty: i.Uncertainty, UncertaintySource: i.UncertaintySource})
	}
	for _, u := range d.Unavailable {
		out.Unavailable = append(out.Unavailable, unavailableJSON{Name: u.Name, Reason: unavailableReason(u)})
	}

	if *measure > 0 && len(d.Sources) > 0 {
		s, err := sampler.New(d.Sources, sampler.WithInterval(*interval))
		if err != nil {
			fmt.Fprintf(stderr, "carbontrack devices: %s\n", plainError(err))
			return 2
		}
		if !*asJSON {
			fmt.Fprintf(stderr, "measuring for %v (Ctrl-C stops early)...\n", *measure)
		}
		if err := s.Start(ctx); err != nil {
			fmt.Fprintf(stderr, "carbontrack devices: %s\n", plainError(err))
			return 1
		}
		select {
		case <-time.After(*measure):
		case <-ctx.Done():
		}
		s.Stop()
		snap := s.Snapshot()
		secs := snap.Time.Sub(snap.Start).Seconds()
		out.DurationS = &secs
		for k, st := range snap.Sources {
			e, p := float64(st.Energy), float64(st.AvgPower)
			out.Sources[k].EnergyJ, out.Sources[k].AvgPowerW = &e, &p
			if st.Err != nil {
				out.Sources[k].Error = plainError(st.Err)
			}
		}
	}

	if *asJSON {
		if err := encodeJSON(stdout, out); err != nil {
			fmt.Fprintf(stderr, "carbontrack devices: %v\n", err)
			return 1
		}
		return 0
	}
	printDevices(stdout, out)
	return 0
}

func printDevices(w io.Writer, out devicesJSON) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if out.DurationS != nil {
		fmt.Fprintf(tw, "NAME\tKIND\tMETHOD\tENERGY (J)\tAVG POWER (W)\tDEVICE\n")
	} else {
		fmt.Fprintf(tw, "NAME\tKIND\tMETHOD\tDEVICE\n")
	}
	for _, s := range out.Sources {
		if out.DurationS != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%s\n", s.Name, s.Kind, s.Method, deref(s.EnergyJ), deref(s.AvgPowerW), s.Device)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Kind, s.Method, s.Device)
		}
	}
	_ = tw.Flush()
	if out.DurationS != nil {
		fmt.Fprintf(w, "\nmeasured for %.2f s\n", *out.DurationS)
	}
	fmt.Fprintln(w, "\nHow each source is measured:")
	for _, s := range out.Sources {
		fmt.Fprintf(w, "  %s: %s\n", s.Name, s.Detail)
		switch {
		case s.Uncertainty > 0:
			fmt.Fprintf(w, "    uncertainty: ±%.0f %% (%s)\n", s.Uncertainty*100, s.UncertaintySource)
		case s.UncertaintySource != "":
			fmt.Fprintf(w, "    uncertainty: %s\n", s.UncertaintySource)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", s.Error)
		}
	}
	if len(out.Unavailable) > 0 {
		fmt.Fprintln(w, "\nNot measured:")
		for _, u := range out.Unavailable {
			fmt.Fprintf(w, "  %s: %s\n", u.Name, u.Reason)
		}
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// unavailableReason is why u is not measured, without its name and the
// library's prefixes: "no powercap zones under ...".
func unavailableReason(u power.Unavailable) string { return plainReason(u.Name, u.Reason()) }

// plainReason is reason, why the source name is not measured, without the
// name and the library's prefixes.
func plainReason(name, reason string) string {
	r := reasonText(name, reason)
	if rest, ok := strings.CutPrefix(r, name+": "); ok {
		return rest
	}
	return r
}
