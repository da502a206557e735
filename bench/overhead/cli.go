//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/power/powertest"
)

// measureCLI runs carbontrack run --nvml-lib <stand-in> -- sleep D and reads
// the carbontrack process's threads from /proc over the sleep: from when the
// sleep has started to a second before it ends (its start-up and its final
// report are left out).
func measureCLI(ctx context.Context, bin string, nv powertest.FakeNVML, d time.Duration, logDir string) (sample, error) {
	secs := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	cmd := exec.CommandContext(ctx, bin, "run", "--nvml-lib", nv.Library, "--log-dir", logDir, "--", "sleep", secs)
	cmd.Env = childEnv(nv.Env())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	pid := cmd.Process.Pid
	fail := func(err error) (sample, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return sample{}, fmt.Errorf("%w\n%s", err, out.String())
	}

	deadline := time.Now().Add(30 * time.Second)
	for !hasChild(pid) {
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("carbontrack run did not start its command within 30 s"))
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return fail(err)
		}
	}
	started := time.Now()
	u0, err := procUsage(pid)
	if err != nil {
		return fail(err)
	}
	if err := sleep(ctx, time.Until(started.Add(d-time.Second))); err != nil {
		return fail(err)
	}
	u1, err := procUsage(pid)
	if err != nil {
		return fail(err)
	}
	if err := cmd.Wait(); err != nil {
		return sample{}, fmt.Errorf("carbontrack run: %w\n%s", err, out.String())
	}
	s := window(u0, u1)
	s.UserS = 0 // schedstat gives user + system together
	return s, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// hasChild says whether a thread of process pid has a child process.
func hasChild(pid int) bool {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return true
		}
	}
	return false
}

// procUsage sums the CPU time (schedstat, ns) and context switches (status)
// of the live threads of process pid. Threads that have exited are missed;
// a Go program seldom ends its threads.
func procUsage(pid int) (usage, error) {
	u := usage{at: time.Now()}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(tasks) == 0 {
		return usage{}, fmt.Errorf("process %d: no threads in /proc", pid)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(task, "schedstat"))
		if err != nil {
			continue // the thread has just exited
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			return usage{}, fmt.Errorf("%s/schedstat: %q", task, b)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return usage{}, fmt.Errorf("%s/schedstat: %w", task, err)
		}
		u.user += time.Duration(ns) // user + system: schedstat does not split them
		if b, err = os.ReadFile(filepath.Join(task, "status")); err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "voluntary_ctxt_switches":
				u.voluntary += n
			case "nonvoluntary_ctxt_switches":
				u.involuntary += n
			}
		}
	}
	return u, nil
}
