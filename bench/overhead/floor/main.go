//go:build linux

// Command floor is the floor of bench/overhead: a bare Go program that only
// runs a 1 s time.Ticker for -duration, and then prints its own CPU time and
// context switches over that time (getrusage, all threads) as one line of
// JSON, in bench/overhead's sample fields. It imports nothing of carbontrack
// and links no C, so it costs what any Go process with a periodic timer
// costs.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	d := flag.Duration("duration", time.Minute, "how long to tick")
	flag.Parse()
	tk := time.NewTicker(time.Second)
	var r0, r1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r0); err != nil {
		fmt.Fprintln(os.Stderr, "floor: getrusage:", err)
		os.Exit(1)
	}
	t0 := time.Now()
	for range int(*d / time.Second) {
		<-tk.C
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r1); err != nil {
		fmt.Fprintln(os.Stderr, "floor: getrusage:", err)
		os.Exit(1)
	}
	wall := time.Since(t0)
	user := float64(r1.Utime.Nano()-r0.Utime.Nano()) / 1e9
	sys := float64(r1.Stime.Nano()-r0.Stime.Nano()) / 1e9
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"wall_s": wall.Seconds(), "cpu_s": user + sys, "user_s": user, "sys_s": sys,
		"voluntary_ctx_switches": r1.Nvcsw - r0.Nvcsw, "involuntary_ctx_switches": r1.Nivcsw - r0.Nivcsw,
	})
}
