//go:build linux

package power

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// cpuTimesReader reads the machine's cumulative CPU times from
// <procRoot>/stat. It keeps the file open and re-reads its start with pread
// into a fixed buffer (procfs regenerates the file at each read from offset
// 0), so a read opens nothing and allocates nothing. It is not safe for
// concurrent use.
type cpuTimesReader struct {
	path string
	f    *os.File
	// buf holds the start of the file: the aggregate cpu line comes first
	// and is at most 4 + 10 × 21 bytes long.
	buf [512]byte
}

func newCPUTimesReader(procRoot string) (*cpuTimesReader, error) {
	p := filepath.Join(procRoot, "stat")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("power: cpu estimate: %w", err)
	}
	return &cpuTimesReader{path: p, f: f}, nil
}

// read returns the current aggregate CPU times.
func (r *cpuTimesReader) read(context.Context) (cpuJiffies, error) {
	n, err := r.f.ReadAt(r.buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return cpuJiffies{}, fmt.Errorf("%s: %w", r.path, err)
	}
	j, err := parseProcStat(r.buf[:n], n < len(r.buf))
	if err != nil {
		return cpuJiffies{}, fmt.Errorf("%s: %w", r.path, err)
	}
	return j, nil
}

func (r *cpuTimesReader) close() error { return r.f.Close() }

// pidStatReader reads /proc/<pid>/stat of the processes of a tree. It keeps
// each process's file open from its first read and re-reads it with pread
// into a fixed buffer, so steady-state reads allocate nothing; an open file
// also keeps following the process it was opened for, never a later one
// that reuses its pid. Opening a new process's file allocates. It is not
// safe for concurrent use.
type pidStatReader struct {
	procRoot  string
	bootMs    int64 // boot time, ms since the Unix epoch (btime)
	pageBytes uint64
	files     map[int32]*os.File
	buf       [1024]byte
}

// newPIDStatReader returns a reader of the processes of tree.
func newPIDStatReader(tree *procTree) (*pidStatReader, error) {
	boot, err := tree.bootMillis()
	if err != nil {
		return nil, err
	}
	return &pidStatReader{procRoot: tree.procRoot, bootMs: boot, pageBytes: uint64(os.Getpagesize()),
		files: map[int32]*os.File{}}, nil
}

// bootMillis returns the boot time ("btime" of the tree's /proc/stat), ms
// since the Unix epoch. It reads the file once for all the sources of the
// view, which the kernel writes out in full at each read (a line a CPU).
func (t *procTree) bootMillis() (int64, error) {
	t.bootOnce.Do(func() {
		p := filepath.Join(t.procRoot, "stat")
		b, err := os.ReadFile(p)
		if err != nil {
			t.bootErr = fmt.Errorf("power: process view: %w", err)
			return
		}
		boot, err := parseBootTime(b)
		if err != nil {
			t.bootErr = fmt.Errorf("power: process view: %s: %w", p, err)
			return
		}
		t.bootMs = boot * 1000
	})
	return t.bootMs, t.bootErr
}

// read returns pid's stat. On failure (the process has exited and been
// reaped) its file is closed and forgotten.
func (r *pidStatReader) read(_ context.Context, pid int32) (pidStat, error) {
	f, ok := r.files[pid]
	if !ok {
		var err error
		if f, err = os.Open(filepath.Join(r.procRoot, strconv.Itoa(int(pid)), "stat")); err != nil {
			return pidStat{}, err
		}
		r.files[pid] = f
	}
	n, err := f.ReadAt(r.buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		r.forget(pid)
		return pidStat{}, err
	}
	raw, err := parsePIDStat(r.buf[:n])
	if err != nil {
		r.forget(pid)
		return pidStat{}, err
	}
	return pidStat{ppid: raw.ppid, utime: raw.utime, stime: raw.stime, cutime: raw.cutime, cstime: raw.cstime,
		startMillis: r.bootMs + int64(raw.startTicks)*(1000/userHz), rssBytes: raw.rssPages * r.pageBytes}, nil
}

// forget closes pid's file.
func (r *pidStatReader) forget(pid int32) {
	if f, ok := r.files[pid]; ok {
		_ = f.Close()
		delete(r.files, pid)
	}
}

// prune closes the files of the processes not in members.
func (r *pidStatReader) prune(members map[int32]int32) {
	for pid := range r.files {
		if _, ok := members[pid]; !ok {
			r.forget(pid)
		}
	}
}

// close closes every file.
func (r *pidStatReader) close() error {
	var errs []error
	for pid, f := range r.files {
		errs = append(errs, f.Close())
		delete(r.files, pid)
	}
	return errors.Join(errs...)
}

// listProcs calls fn with the pid and parent pid of every process under
// procRoot. It reads each /proc/<pid>/stat once into buf (open, pread,
// close: two small allocations a process, for its path), skipping processes
// that exit meanwhile.
func listProcs(_ context.Context, procRoot string, buf []byte, fn func(pid, ppid int32)) error {
	d, err := os.Open(procRoot)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		v, ok := parseDecimal([]byte(name))
		if !ok || v == 0 || v > 1<<31-1 {
			continue
		}
		fd, err := openRetry(procRoot + "/" + name + "/stat")
		if err != nil {
			continue
		}
		n, err := preadRetry(fd, buf)
		_ = syscall.Close(fd)
		if err != nil {
			continue
		}
		if raw, err := parsePIDStat(buf[:n]); err == nil {
			fn(int32(v), raw.ppid)
		}
	}
	return nil
}

func openRetry(p string) (int, error) {
	for {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func preadRetry(fd int, buf []byte) (int, error) {
	for {
		n, err := syscall.Pread(fd, buf, 0)
		if err != syscall.EINTR {
			return n, err
		}
	}
}
