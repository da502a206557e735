//go:build !(linux && cgo)

package power

import "runtime"

// checkLibrary cannot load a library without cgo or off Linux: it says so,
// wrapping errLibraryOpen and ErrNotSupported.
func checkLibrary(path string, c libraryCheck) error {
	return errorf(ErrNotSupported, "%w %s: %s: this build cannot load libraries (%s/%s, no cgo or not Linux)",
		errLibraryOpen, path, c.what, runtime.GOOS, runtime.GOARCH)
}
