//go:build cgo

package fakenvml

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Open loads the library at lib through go-nvml's real cgo path and
// initializes it, failing tb unless Init succeeds; Shutdown runs at
// cleanup. $FAKENVML_CONFIG must already be set.
func Open(tb testing.TB, lib string) nvml.Interface {
	tb.Helper()
	l := nvml.New(nvml.WithLibraryPath(lib))
	if ret := l.Init(); ret != nvml.SUCCESS {
		tb.Fatalf("fakenvml: nvml Init with %s: %v (%d)", lib, ret, int(ret))
	}
	tb.Cleanup(func() { _ = l.Shutdown() })
	return l
}
