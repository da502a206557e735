// Package cli is the carbontrack command: its commands, flags and printing.
// cmd/carbontrack and cmd/carbontrack-full are its two builds: the first
// without the features of package extras, the second with them.
package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/carbontrack/carbontrack/tracker"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"devices", "list what can be measured here, and why not the rest", runDevices},
		{"intensity", "print the carbon intensity of electricity for a zone, live or embedded", runIntensity},
		{"estimate", "estimate a run's energy and emissions from its hardware and duration, step by step", runEstimate},
		{"run", "run a command and measure its energy and emissions, epoch by epoch", runRun},
		{"report", "read run logs (carbontrack's and carbontracker's), add them up, plot them", runReport},
		{"serve", "export this machine's power and energy to Prometheus until interrupted", runServe},
		{"calibrate", "measure this CPU's idle and full-load power with RAPL for estimates where RAPL is unreadable", runCalibrate},
	}
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		return runHelpCommand(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "carbontrack: %s takes no argument\nsee 'carbontrack --help'\n", args[0])
			return 2
		}
		fmt.Fprintln(stdout, versionText())
		return 0
	}
	if c, ok := findCommand(args[0]); ok {
		return c.run(ctx, args[1:], stdout, stderr)
	}
	what := "command"
	if strings.HasPrefix(args[0], "-") {
		what = "flag"
	}
	fmt.Fprintf(stderr, "carbontrack: unknown %s %q\nsee 'carbontrack --help'\n", what, args[0])
	return 2
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// runHelpCommand is "carbontrack help [COMMAND]": the commands, or the help
// of one, on stdout.
func runHelpCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stdout)
		return 0
	case len(args) > 1:
		fmt.Fprintf(stderr, "carbontrack help: give one command, not %d\nsee 'carbontrack help'\n", len(args))
		return 2
	}
	c, ok := findCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "carbontrack help: unknown command %q\nsee 'carbontrack help'\n", args[0])
		return 2
	}
	// A command's --help prints its help and does nothing else.
	return c.run(ctx, []string{"--help"}, stdout, stdout)
}

// versionText is carbontrack's version, and the Go and platform it was
// built with.
func versionText() string {
	name := "carbontrack"
	if features.Complete() {
		name = FullName
	}
	return fmt.Sprintf("%s %s (%s %s/%s)", name, tracker.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func usage(w io.Writer) {
	fmt.Fprint(w, "carbontrack measures the energy and carbon emissions of training runs.\n\nUsage:\n  carbontrack COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "print the help of a command: carbontrack help COMMAND")
	fmt.Fprintf(w, "  %-10s %s\n", "version", "print carbontrack's version (also --version)")
	fmt.Fprint(w, "\nRun 'carbontrack help COMMAND' or 'carbontrack COMMAND --help' for a command's flags and examples.\n")
	if !features.Complete() {
		fmt.Fprintf(w, "\nreport --plot and --html, serve and run --metrics-addr are handed to %s (charts and\n"+
			"Prometheus, left out of this build to start lighter): $%s, else the one beside this binary, else on PATH.\n", FullName, FullEnv)
	}
}
