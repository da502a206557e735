package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// The flags of every subcommand and their CARBONTRACK_* environment twins:
// one mechanism for all. The command line wins; a flag it leaves out takes
// its twin's value when the variable is set and not empty; a bad value is
// the same error (exit 2) whichever subcommand reads it; booleans are
// spelled 1/0, true/false, yes/no or on/off, in any case, on the command
// line (--json=yes) and in the environment alike.

// cliFlags is a subcommand's flag set with its environment twins.
type cliFlags struct {
	*flag.FlagSet
	help   string
	stderr io.Writer
	// twins maps flag names to their environment variables.
	twins envTwins
	// onCmdLine and fromEnv are the flags set by the command line and by
	// their twins, once parsed.
	onCmdLine, fromEnv map[string]bool
}

// envTwins maps flag names to their CARBONTRACK_* environment variables.
type envTwins map[string]string

// newFlags returns the flag set of the subcommand name, whose --help prints
// help then the flags. Parse errors are returned, never printed by the flag
// package: parse prints them, in one line.
func newFlags(name, help string, stderr io.Writer) *cliFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f := &cliFlags{FlagSet: fs, help: help, stderr: stderr, twins: envTwins{}}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return f
}

// env records envName as the twin of flagName and returns usage with it
// mentioned.
func (f *cliFlags) env(flagName, envName, usage string) string {
	f.twins[flagName] = envName
	return usage + " (env " + envName + ")"
}

// boolVar declares a boolean flag that takes every spelling of parseBool.
func (f *cliFlags) boolVar(p *bool, name string, value bool, usage string) {
	*p = value
	f.Var((*boolValue)(p), name, usage)
}

// bool is boolVar returning the flag's variable.
func (f *cliFlags) bool(name string, value bool, usage string) *bool {
	p := new(bool)
	f.boolVar(p, name, value, usage)
	return p
}

// printHelp writes the help text and the flags to w.
func (f *cliFlags) printHelp(w io.Writer) {
	fmt.Fprint(w, f.help)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// usageError says what is wrong with the command line in one line, then
// where the help is, and returns 2.
func (f *cliFlags) usageError(format string, a ...any) int {
	fmt.Fprintf(f.stderr, "carbontrack %s: %s\nsee 'carbontrack %s --help'\n", f.Name(), fmt.Sprintf(format, a...), f.Name())
	return 2
}

// what names a flag in a message: "--name", or "CARBONTRACK_X (--name)"
// when its twin set it.
func (f *cliFlags) what(name string) string {
	if f.fromEnv[name] {
		return f.twins[name] + " (--" + name + ")"
	}
	return "--" + name
}

// given says whether the command line or the flag's twin set it.
func (f *cliFlags) given(name string) bool { return f.onCmdLine[name] || f.fromEnv[name] }

// parse parses args, then sets from the environment the flags with a twin
// that the command line left out. With interspersed, arguments may come
// before flags (the first "--" ends the flags); otherwise the first
// argument ends them. When ok is false the subcommand returns code: 0 after
// -h/--help (the help printed on stderr), 2 for a bad flag or twin (said in
// one line). It returns the arguments left.
func (f *cliFlags) parse(args []string, interspersed bool) (rest []string, code int, ok bool) {
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp(f.stderr)
				return nil, 0, false
			}
			return nil, f.usageError("%v", err), false
		}
		if !interspersed || f.NArg() == 0 {
			break
		}
		// flag stops at the first argument, or after a "--": the rest
		// are all arguments then.
		if len(args) > len(f.Args()) && args[len(args)-len(f.Args())-1] == "--" {
			rest = append(rest, f.Args()...)
			break
		}
		rest = append(rest, f.Arg(0))
		args = f.Args()[1:]
	}
	if !interspersed {
		rest = f.Args()
	}
	f.onCmdLine = map[string]bool{}
	f.Visit(func(fl *flag.Flag) { f.onCmdLine[fl.Name] = true })
	var err error
	if f.fromEnv, err = applyEnv(f.FlagSet, f.twins, f.onCmdLine); err != nil {
		return nil, f.usageError("%v", err), false
	}
	return rest, 0, true
}

// parseNoArgs is parse for a subcommand that takes no argument.
func (f *cliFlags) parseNoArgs(args []string) (code int, ok bool) {
	rest, code, ok := f.parse(args, false)
	if ok && len(rest) > 0 {
		return f.usageError("unexpected argument %q", rest[0]), false
	}
	return code, ok
}

// applyEnv sets each flag that has its twin in the environment (set and
// not empty), except those in onCmdLine: a flag given on the command line
// wins over its twin. It returns the flags it set; each bad value is an
// error that names the variable, its value and the flag.
func applyEnv(fs *flag.FlagSet, twins map[string]string, onCmdLine map[string]bool) (map[string]bool, error) {
	var errs []error
	set := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		name, ok := twins[f.Name]
		if !ok || onCmdLine[f.Name] {
			return
		}
		if v := os.Getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: invalid value for --%s: %w", name, clipArg(v), f.Name, err))
				return
			}
			set[f.Name] = true
		}
	})
	return set, errors.Join(errs...)
}

// boolValue is a boolean flag that takes 1/0, true/false, yes/no and
// on/off, in any case.
type boolValue bool

// errBool is the error of a boolean that is none of those.
var errBool = errors.New("want 1, 0, true, false, yes, no, on or off")

func (b *boolValue) Set(s string) error {
	v, ok := parseBool(s)
	if !ok {
		return errBool
	}
	*b = boolValue(v)
	return nil
}

func (b *boolValue) String() string {
	if b != nil && *b {
		return "true"
	}
	return "false"
}

func (b *boolValue) Get() any { return bool(*b) }

func (b *boolValue) IsBoolFlag() bool { return true }

// parseBool reads 1/0, true/false, yes/no or on/off, in any case.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

// clipArg shortens a value quoted in a message.
func clipArg(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
