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
	"syscall"

	"github.com/carbontrack/carbontrack/internal/cli/extras"
)

// The carbontrack binary links neither the charts nor Prometheus (package
// extras says why); a command that needs one is handed, arguments and all,
// to carbontrack-full, which links them.

// FullName is the name of the build with every feature.
const FullName = "carbontrack-full"

// FullEnv names the carbontrack-full binary to hand such commands to, when
// it is neither beside carbontrack nor on PATH.
const FullEnv = "CARBONTRACK_FULL"

// delegatedEnv is set in carbontrack-full's environment by the carbontrack
// that handed it a command: a build that lacks the feature too says so
// instead of handing it on again.
const delegatedEnv = "CARBONTRACK_DELEGATED_FROM"

// features are the features this build links, set by Main.
var features extras.Set

// argsKey is the context key of the command line Main was given.
type argsKey struct{}

// Main runs carbontrack with the process's arguments, with the features
// set links, and exits with its code.
func Main(set extras.Set) {
	features = set
	from := os.Getenv(delegatedEnv)
	// Not for the commands carbontrack run starts.
	os.Unsetenv(delegatedEnv)
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
// links the feature flag needs (for "carbontrack serve", flag is empty). It
// returns only when it cannot, with the exit code, having said why.
func delegate(ctx context.Context, command, flag string, stderr io.Writer) int {
	what := "carbontrack " + command
	if flag != "" {
		what += " " + flag
	}
	a, ok := ctx.Value(argsKey{}).(args)
	if !ok {
		fmt.Fprintf(stderr, "carbontrack %s: %s needs %s, and this build cannot hand it over\n", command, what, FullName)
		return 1
	}
	if a.delegatedFrom != "" {
		fmt.Fprintf(stderr, "carbontrack %s: %s needs %s, but %s handed it to this binary, which lacks it too: set %s to the path of %s\n",
			command, what, FullName, a.delegatedFrom, FullEnv, FullName)
		return 1
	}
	path, err := findFull()
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack %s: %s needs %s (carbontrack with charts and Prometheus, which carbontrack leaves out to start and run lighter): %v.\n"+
			"Install it with: go install github.com/carbontrack/carbontrack/cmd/%s@latest (in a clone: go install ./cmd/...),\n"+
			"or run it in place of carbontrack: go run ./cmd/%s %s ...\n",
			command, what, FullName, err, FullName, FullName, command)
		return 1
	}
	self, _ := os.Executable()
	env := append(os.Environ(), delegatedEnv+"="+cmp.Or(self, "carbontrack"))
	code, err := execFull(path, a.argv, env)
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack %s: %s needs %s: cannot start %s: %v\n", command, what, FullName, path, err)
		return 1
	}
	return code
}

// findFull finds carbontrack-full: $CARBONTRACK_FULL, else beside this
// executable (or beside what it links to), else on PATH.
func findFull() (string, error) {
	if p := os.Getenv(FullEnv); p != "" {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", fmt.Errorf("%s=%s: %v", FullEnv, p, err)
		case fi.IsDir() || fi.Mode()&0o111 == 0:
			return "", fmt.Errorf("%s=%s: not an executable file", FullEnv, p)
		}
		return p, nil
	}
	var dirs []string
	if self, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(self))
		if real, err := filepath.EvalSymlinks(self); err == nil && filepath.Dir(real) != filepath.Dir(self) {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, FullName)
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(FullName); err == nil {
		return p, nil
	}
	where := "on PATH"
	if len(dirs) > 0 {
		where = "beside " + filepath.Join(dirs[0], "carbontrack") + " nor on PATH"
	}
	return "", fmt.Errorf("it is not %s, and %s is not set", where, FullEnv)
}
