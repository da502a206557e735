package power_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/carbontrack/carbontrack/power/powertest"
)

// exampleTB adapts the powertest helpers (which take a testing.TB) to
// Example functions, which have none.
type exampleTB struct {
	testing.TB
	dir string
}

func (e exampleTB) Helper()                   {}
func (e exampleTB) TempDir() string           { d, _ := os.MkdirTemp(e.dir, "t"); return d }
func (e exampleTB) Fatal(args ...any)         { panic(args) }
func (e exampleTB) Fatalf(f string, a ...any) { panic(f) }

func exampleDir() (string, func()) {
	dir, err := os.MkdirTemp("", "carbontrack-example")
	if err != nil {
		panic(err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }
}

func exampleProc(dir string) string {
	return powertest.WriteProc(exampleTB{dir: dir}, filepath.Join(dir, "proc"), powertest.Proc{Model: "AMD EPYC", CPUs: 2, VM: true})
}
