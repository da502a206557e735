//go:build unix && !aix && !solaris

package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// dirMode is the mode of a lease directory that Open creates: sticky and
// world-writable like /tmp, so that every user's trackers share it and none
// can remove another's lease files.
const dirMode = os.ModeSticky | 0o777

// Open prepares dir for leases and returns an empty Set whose leases will
// carry me. An empty dir means DefaultDir(). A me.PID of 0 means this
// process; a zero me.Since means the time each lease is taken.
//
// Open creates dir and its missing parents; a directory it creates gets
// mode 01777 (sticky and world-writable like /tmp), so that every user's
// trackers on the machine share it. Lease files are created 0o644; another
// user's tracker opens them read-only, which is enough for flock(2).
//
// An error (a read-only filesystem, a permission denied, a path that is not
// a directory) says what failed and that trackers on this machine cannot
// coordinate their use of its devices.
func Open(dir string, me Holder) (*Set, error) {
	if dir == "" {
		dir = DefaultDir()
	}
	if me.PID == 0 {
		me.PID = os.Getpid()
	}
	fail := func(what string, err error) (*Set, error) {
		return nil, fmt.Errorf("lease: %s %s: %w (trackers on this machine cannot coordinate device use)", what, dir, err)
	}
	_, err := os.Stat(dir)
	created := errors.Is(err, fs.ErrNotExist)
	if created {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return fail("create directory", err)
		}
		// MkdirAll's mode is reduced by the umask and cannot carry the
		// sticky bit everywhere; another user that won a race to create
		// dir owns it, and then its mode is theirs to set.
		if err := os.Chmod(dir, dirMode); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fail("chmod directory", err)
		}
	}
	// Not through a link: in a world-writable parent, another user could
	// point it at files of the caller's to truncate.
	fi, err := os.Lstat(dir)
	if err != nil {
		return fail("stat directory", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fail("use directory", errors.New("it is a symbolic link"))
	}
	if !fi.IsDir() {
		return fail("use directory", syscall.ENOTDIR)
	}
	// New leases need their files created; the filesystem must take them.
	if err := syscall.Access(dir, 0x2|0x1); err != nil { // W_OK|X_OK
		return fail("write to directory", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Set{dir: dir, me: me, held: make(map[string]lease)}, nil
}

// openLease opens the lease file at path, creating it 0o644 if needed.
// writable is false when this process may only read it (another user's
// file), which is enough to lock it.
//
// The directory may be writable by every user, so openLease follows no
// symbolic link (one planted there must not make a tracker truncate another
// file) and accepts only a regular file (a FIFO must not block it).
func openLease(path string) (f *os.File, writable bool, err error) {
	f, writable, err = openFile(path)
	if err != nil {
		return nil, false, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, false, fmt.Errorf("%s: not a regular file (%v)", path, fi.Mode().Type())
	}
	return f, writable, nil
}

// openFile opens path for openLease: for reading and writing, created if
// needed, else read-only.
func openFile(path string) (f *os.File, writable bool, err error) {
	const safe = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|safe, 0o644)
	if err == nil {
		// Readable by every user's trackers whatever the umask: a lease
		// file they cannot open is a device they cannot share.
		_ = f.Chmod(0o644)
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return nil, false, err
	}
	// Another user's file: refused for writing, or for O_CREAT at all in a
	// sticky directory under Linux's fs.protected_regular.
	if f, err2 := os.OpenFile(path, os.O_RDWR|safe, 0); err2 == nil {
		return f, true, nil
	}
	if f, err2 := os.OpenFile(path, os.O_RDONLY|safe, 0); err2 == nil {
		return f, false, nil
	}
	return nil, false, err
}

// tryLock takes an exclusive flock on f without blocking. got is false,
// with a nil error, when another open file holds a lock on it.
func tryLock(f *os.File) (got bool, err error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := sc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	if errors.Is(ferr, syscall.EWOULDBLOCK) || errors.Is(ferr, syscall.EAGAIN) {
		return false, nil
	}
	if ferr != nil {
		return false, ferr
	}
	return true, nil
}
