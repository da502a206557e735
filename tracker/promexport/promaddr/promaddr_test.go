package promaddr_test

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker/promexport/promaddr"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool   // allowPublic
		want   string // "" for nil, else a substring of the error
		guard  bool   // the error wraps ErrNotLoopback
	}{
		{addr: "127.0.0.1:9464"},
		{addr: "127.0.0.1:0"},
		{addr: "127.1.2.3:9464"},
		{addr: "[::1]:9464"},
		{addr: "[::ffff:127.0.0.1]:9464"},
		{addr: "localhost:9464"},
		{addr: "LocalHost:9464"},
		{addr: "0.0.0.0:9464", want: "all interfaces", guard: true},
		{addr: ":9464", want: "all interfaces", guard: true},
		{addr: "[::]:9464", want: "all interfaces", guard: true},
		{addr: "192.168.1.20:9464", want: "not a loopback address", guard: true},
		{addr: "10.0.0.5:9464", want: "--allow-public", guard: true},
		{addr: "[fe80::1%eth0]:9464", want: "it would expose", guard: true},
		{addr: "node1.cluster:9464", want: "not a loopback address", guard: true},
		{addr: "localhost.evil.example:9464", want: "not a loopback address", guard: true},
		{addr: "0.0.0.0:9464", public: true},
		{addr: ":9464", public: true},
		{addr: "192.168.1.20:9464", public: true},
		{addr: "127.0.0.1", want: "missing port"},
		{addr: "127.0.0.1:", want: "missing port"},
		{addr: "", want: "missing port"},
		{addr: "::1:9464", want: "too many colons"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			err := promaddr.Check(tc.addr, tc.public)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.guard, errors.Is(err, promaddr.ErrNotLoopback))
			if tc.guard {
				// The message says what it exposes and how to allow it.
				assert.Contains(t, err.Error(), "energy, power and emissions")
				assert.Contains(t, err.Error(), "--allow-public")
				assert.Contains(t, err.Error(), "WithAllowPublic(true)")
			}
		})
	}
}

// TestStandardLibraryOnly checks that the package imports the standard
// library only: no Prometheus package, so that checking an address links
// none.
func TestStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			first, _, _ := strings.Cut(path, "/")
			assert.NotContains(t, first, ".", "%s imports %s", name, path)
		}
	}
}
