package runlog

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxFileSize is the most bytes read of one log file: far above any real
// log, and a bound on what a hostile one (a link to /dev/zero) costs.
var maxFileSize int64 = 256 << 20

// readFile reads the regular file at path (a link to one is followed), at
// most maxFileSize bytes. Anything else named like a log (a FIFO, a device,
// a socket, a directory) is an error naming it: it is not opened for
// reading in a way that could block (O_NONBLOCK), nor read without end.
func readFile(path string) ([]byte, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("runlog: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, fmt.Errorf("runlog: %w", err)
	}
	defer f.Close()
	// The file may have been replaced between Stat and Open.
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("runlog: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	if st.Size() > maxFileSize {
		return nil, tooLarge(path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("runlog: %s: %w", path, err)
	}
	if int64(len(b)) > maxFileSize {
		return nil, tooLarge(path)
	}
	return b, nil
}

func notRegular(path string, m fs.FileMode) error {
	return fmt.Errorf("runlog: %s: not a regular file (%s)", path, m.Type())
}

func tooLarge(path string) error {
	return fmt.Errorf("runlog: %s: larger than %d MiB, not read as a log", path, maxFileSize>>20)
}
