//go:build !unix || aix || solaris

package lease

import (
	"errors"
	"fmt"
	"os"
)

// Open prepares dir for leases and returns an empty Set whose leases will
// carry me. On this platform leases are not implemented: Open returns an
// error wrapping errors.ErrUnsupported, and trackers on this machine cannot
// coordinate device use.
func Open(dir string, me Holder) (*Set, error) {
	return nil, fmt.Errorf("lease: device leases (flock) on this platform: %w (trackers on this machine cannot coordinate device use)", errors.ErrUnsupported)
}

// openLease is never reached: Open returns no Set on this platform.
func openLease(path string) (*os.File, bool, error) {
	return nil, false, errors.ErrUnsupported
}

// tryLock is never reached: Open returns no Set on this platform.
func tryLock(f *os.File) (bool, error) {
	return false, errors.ErrUnsupported
}
