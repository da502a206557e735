//go:build linux && cgo

package power

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/dl"
)

// checkLibrary loads the library at path (a path or a soname, as dlopen
// takes it) on its own, looks up every symbol c needs, and unloads it. It
// calls none of the library's functions (only its initialisers run, as they
// would when the bindings load it). It returns an error wrapping
// errLibraryOpen when the library cannot be loaded, and c.verdict's when
// symbols are missing.
func checkLibrary(path string, c libraryCheck) error {
	lib := dl.New(path, dl.RTLD_LAZY|dl.RTLD_LOCAL)
	if err := lib.Open(); err != nil {
		return fmt.Errorf("%w %s: %w", errLibraryOpen, path, err)
	}
	defer func() { _ = lib.Close() }()
	return c.verdict(path, c.missing(func(name string) bool { return lib.Lookup(name) == nil }))
}
