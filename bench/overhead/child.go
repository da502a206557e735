//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
)

// envChild carries a childSpec, as JSON, to a child process.
const envChild = "OVERHEAD_CHILD"

// childSpec is what a child process measures.
type childSpec struct {
	Config   string        // a library configuration
	Duration time.Duration // the measured window
	Library  string        // the stand-in libnvidia-ml.so.1
	GPUs     int           // how many GPUs the stand-in has
	// ExecUnixNano is the wall clock just before the parent started the
	// child, for the start-up time.
	ExecUnixNano int64
}

// usage is the process's resource use so far, all threads, dead ones too.
type usage struct {
	at                     time.Time
	user, sys              time.Duration
	voluntary, involuntary int64
}

func readUsage() (usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}, fmt.Errorf("getrusage: %w", err)
	}
	return usage{at: time.Now(), user: time.Duration(ru.Utime.Nano()), sys: time.Duration(ru.Stime.Nano()),
		voluntary: ru.Nvcsw, involuntary: ru.Nivcsw}, nil
}

// window returns the sample between two usages.
func window(u0, u1 usage) sample {
	user, sys := (u1.user - u0.user).Seconds(), (u1.sys - u0.sys).Seconds()
	return sample{WallS: u1.at.Sub(u0.at).Seconds(), CPUS: user + sys, UserS: user, SysS: sys,
		Voluntary: u1.voluntary - u0.voluntary, Involuntary: u1.involuntary - u0.involuntary}
}

// runChild measures what spec says and writes the sample as JSON, on one
// line, to out.
func runChild(specJSON string, out io.Writer) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("$%s: %w", envChild, err)
	}
	s, err := trackerChild(spec)
	if err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// trackerChild starts a tracker, measures it over an idle epoch of
// spec.Duration, and stops it.
func trackerChild(spec childSpec) (sample, error) {
	opts, ok := trackerOptions(spec.Config)
	if !ok {
		return sample{}, fmt.Errorf("unknown configuration %q", spec.Config)
	}
	opts = append([]tracker.Option{tracker.WithNVMLLibrary(spec.Library)}, opts...)
	called := time.Now()
	t, err := tracker.New(1, opts...)
	if err != nil {
		return sample{}, err
	}
	newDone := time.Now()
	defer t.Stop()
	var sources []string
	var gpus int
	for _, info := range t.Sources() {
		sources = append(sources, fmt.Sprintf("%s (%s)", info.Name, info.Method))
		if info.Kind == power.KindGPU {
			gpus++
		}
	}
	if gpus != spec.GPUs {
		return sample{}, fmt.Errorf("the tracker measures %d GPUs, the stand-in has %d: %v", gpus, spec.GPUs, t.Report().Unavailable)
	}
	hwm, err := peakRSS()
	if err != nil {
		return sample{}, err
	}

	u0, err := readUsage()
	if err != nil {
		return sample{}, err
	}
	t.EpochStart()
	time.Sleep(spec.Duration) // the idle job
	u1, err := readUsage()
	if err != nil {
		return sample{}, err
	}
	t.EpochEnd()
	t.Stop()

	s := window(u0, u1)
	s.Sources, s.PeakRSSBytes = sources, hwm
	s.StartupS = float64(newDone.UnixNano()-spec.ExecUnixNano) / 1e9
	s.NewS = newDone.Sub(called).Seconds()
	s.StartupCPUS = (u0.user + u0.sys).Seconds()
	if s.EndRSSBytes, err = peakRSS(); err != nil {
		return sample{}, err
	}
	return s, nil
}

// peakRSS returns VmHWM from /proc/self/status, in bytes.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/self/status: no VmHWM")
}
