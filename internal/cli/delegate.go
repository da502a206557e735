package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/carbontrack/carbontrack/internal/cli/extras"
	"github.com/carbontrack/carbontrack/tracker"
)

// The carbontrack binary links neither the charts nor Prometheus (package
// extras says why); a command that needs one is handed, arguments and all,
// to carbontrack-full, which links them.

// FullName is the name of the build with every feature.
const FullName = "carbontrack-full"

// FullEnv names the carbontrack-full to hand such commands to (a path, or a
// name looked up on PATH). When it is unset, carbontrack-full is looked for
// beside carbontrack, then on PATH.
const FullEnv = "CARBONTRACK_FULL"

// delegatedEnv and delegatedVersionEnv are set in carbontrack-full's
// environment by the carbontrack that handed it a command (its path and
// version): a build that lacks the feature too says so instead of handing
// it on again, and carbontrack-full warns when the versions differ.
const (
	delegatedEnv        = "CARBONTRACK_DELEGATED_FROM"
	delegatedVersionEnv = "CARBONTRACK_DELEGATED_VERSION"
)

// features are the features this build links, set by Main.
var features extras.Set

// argsKey is the context key of the command line Main was given.
type argsKey struct{}

// Main runs carbontrack with the process's arguments, with the features
// set links, and exits with its code.
func Main(set extras.Set) {
	features = set
	from, version := os.Getenv(delegatedEnv), os.Getenv(delegatedVersionEnv)
	// Not for the commands carbontrack run starts.
	os.Unsetenv(delegatedEnv)
	os.Unsetenv(delegatedVersionEnv)
	if from != "" && version != tracker.Version {
		fmt.Fprintf(os.Stderr, "carbontrack: warning: %s (version %s) handed this command to %s (version %s): install both from one version\n",
			from, cmp.Or(version, "unknown"), selfPath(), tracker.Version)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx = context.WithValue(ctx, argsKey{}, args{argv: os.Args[1:], delegatedFrom: from})
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// args is the command line of this process, and the carbontrack that handed
// it over, if one did.
type args struct {
	argv          []string
	delegatedFrom string
}

// delegate hands this process's command line to carbontrack-full, which
// links what needs: a flag ("--plot", or its twin as cliFlags.what names
// it) or a command ("the exporter"). It returns only when it cannot, with
// the exit code, having said why.
func delegate(ctx context.Context, command, what string, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "carbontrack %s: %s needs %s (carbontrack with the charts and Prometheus, which carbontrack leaves out to start lighter)",
			command, what, FullName)
		fmt.Fprintf(stderr, format+"\n", a...)
		return 1
	}
	a, ok := ctx.Value(argsKey{}).(args)
	if !ok {
		return fail(", and this build cannot hand the command over")
	}
	install := "go install github.com/carbontrack/carbontrack/cmd/" + FullName + "@latest (in a clone: go install ./cmd/...)"
	if a.delegatedFrom != "" {
		return fail(", but %s, to which %s handed the command, is not it:\npoint %s at %s, or install it with: %s", selfPath(), a.delegatedFrom, FullEnv, FullName, install)
	}
	path, err := findFull()
	var envErr fullEnvError
	switch {
	case errors.As(err, &envErr):
		return fail(", and %s: fix or unset %s", err, FullEnv)
	case err != nil:
		return fail(", and %s.\nInstall it with: %s,\nset %s to its path, or run it in place of carbontrack: go run ./cmd/%s %s ...",
			err, install, FullEnv, FullName, command)
	}
	env := append(os.Environ(), delegatedEnv+"="+selfPath(), delegatedVersionEnv+"="+tracker.Version)
	// From here a SIGINT or SIGTERM ends this process, as it would end
	// carbontrack-full; one that came already ends the hand-over.
	signal.Reset(os.Interrupt, syscall.SIGTERM)
	if ctx.Err() != nil {
		return signalCode(ctx)
	}
	// Exec returns only when it fails.
	err = syscall.Exec(path, append([]string{path}, a.argv...), env)
	return fail(", and %s cannot start: %v", path, err)
}

// signalCode is the exit code for the signal that ended ctx, Main's signal
// context: 128+N, 130 (SIGINT's) when it cannot say.
func signalCode(ctx context.Context) int {
	if c := context.Cause(ctx); c != nil && strings.HasPrefix(c.Error(), syscall.SIGTERM.String()+" ") {
		return 128 + int(syscall.SIGTERM)
	}
	return 128 + int(syscall.SIGINT)
}

// fullEnvError is why $CARBONTRACK_FULL names no carbontrack-full.
type fullEnvError struct{ err error }

func (e fullEnvError) Error() string { return e.err.Error() }

// findFull finds carbontrack-full: $CARBONTRACK_FULL when set (its error a
// fullEnvError), else beside this executable (as it was invoked, a link
// perhaps, then as the link resolves), else on PATH.
func findFull() (string, error) {
	if p := os.Getenv(FullEnv); p != "" {
		if !strings.ContainsRune(p, filepath.Separator) {
			found, err := exec.LookPath(p)
			if err != nil {
				return "", fullEnvError{fmt.Errorf("%s=%s is not on PATH", FullEnv, p)}
			}
			return found, nil
		}
		if err := executable(p); err != nil {
			return "", fullEnvError{fmt.Errorf("%s=%s: %v", FullEnv, p, err)}
		}
		return p, nil
	}
	for _, d := range selfDirs() {
		p := filepath.Join(d, FullName)
		err := executable(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%s: %v", p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath(FullName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("it is not beside %s nor on PATH", selfPath())
}

// executable returns nil when path is an executable file.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// selfDirs are the directories carbontrack-full may be beside: the one
// this program was invoked from (where a link to it may be), then the one
// it is in.
func selfDirs() []string {
	var dirs []string
	if p := invokedPath(); p != "" {
		dirs = append(dirs, filepath.Dir(p))
	}
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		if d := filepath.Dir(self); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// invokedPath is the absolute path this program was invoked as (os.Args[0],
// looked up on PATH when it is a bare name), or "".
func invokedPath() string {
	if len(os.Args) == 0 || os.Args[0] == "" {
		return ""
	}
	p := os.Args[0]
	if !strings.ContainsRune(p, filepath.Separator) {
		found, err := exec.LookPath(p)
		if err != nil {
			return ""
		}
		p = found
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return ""
	}
	return abs
}

// selfPath names this program in messages: as invoked, else as the system
// knows it.
func selfPath() string {
	if p := invokedPath(); p != "" {
		return p
	}
	if self, err := os.Executable(); err == nil {
		return self
	}
	return "carbontrack"
}
