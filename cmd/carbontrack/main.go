// Command carbontrack measures the energy and carbon emissions of machine
// learning training runs.
//
// Usage:
//
//	carbontrack devices [--json] [--measure DURATION] [--sysfs-root DIR] [--nvml-lib PATH]
//	carbontrack intensity [--zone Z | --region R] [--provider P] [--provider-url URL] [--forecast] [--json]
//	carbontrack estimate (--device NAME | --watts W) [--count N] (--hours H | --days D | --gpu-hours H) [--zone Z] [--json]
//	carbontrack run [--epochs N (--epochs-from PRESET | --epoch-start-pattern RE | --epoch-pattern RE)] [--process] [--json] [--metrics-addr ADDR] -- COMMAND [ARGS...]
//	carbontrack report [--plot FILE.png|FILE.svg] [--json] LOGDIR...
//	carbontrack serve --metrics-addr ADDR [--run-id ID] [--node NAME]
//
// Run "carbontrack help" or "carbontrack COMMAND --help" for details.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

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
	}
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "carbontrack: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, "carbontrack measures the energy and carbon emissions of training runs.\n\nUsage:\n  carbontrack COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'carbontrack COMMAND --help' for a command's flags and examples.\n")
}

// newFlagSet returns the flag set of a subcommand: errors are returned, not
// fatal, and -h/--help prints the subcommand's help text, then its flags.
func newFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, help)
		fs.PrintDefaults()
	}
	return fs
}

// envTwins maps flag names to their CARBONTRACK_* environment variables.
type envTwins map[string]string

// usage records the twin of flagName and returns usage with it mentioned.
func (tw envTwins) usage(flagName, envName, usage string) string {
	tw[flagName] = envName
	return usage + " (env " + envName + ")"
}

// parseFlags parses a subcommand's arguments. When ok is false the
// subcommand returns code: 0 after -h/--help, 2 for a bad flag or, with
// noArgs, an argument left over (said on the flag set's output).
func parseFlags(fs *flag.FlagSet, args []string, noArgs bool) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if noArgs && fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "carbontrack %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}
