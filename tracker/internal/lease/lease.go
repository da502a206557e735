// Package lease lets several trackers on one machine share its devices
// without measuring any of them twice.
//
// Each device is a lease: a file named after it (dir/<key>.lease) in a
// directory that every tracker on the machine shares (DefaultDir). A tracker
// holds a lease by holding an exclusive flock(2) on its file, taken without
// blocking, and writes who it is (a Holder, as JSON) into the file. The
// kernel drops the lock with the last file descriptor of its holder, so the
// leases of a tracker that crashes or is killed with SIGKILL are free again
// at once; no stale lock file ever needs cleaning up.
//
// A typical use is one tracker per GPU rank of a distributed training job:
// every rank sees every GPU of the node, and each measures only the devices
// whose lease it wins.
//
//	s, err := lease.Open(lease.DefaultDir(), lease.Holder{Run: run, Rank: rank})
//	if err != nil {
//		return err // trackers on this machine cannot coordinate
//	}
//	defer s.Close()
//	ok, holder, err := s.TryAcquire("gpu-" + uuid)
//	switch {
//	case err != nil:
//		return err
//	case !ok:
//		log.Printf("GPU %s is measured by %s", uuid, holder)
//	}
//
// Locks belong to an open file, not to a process: two Sets in one process
// exclude each other exactly as two processes do. The lease files are not
// inherited by child processes (they are opened close-on-exec). flock is
// local to a machine: a lease directory on a network filesystem may not
// exclude trackers on other machines, and need not.
package lease

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvDir is the environment variable that sets the lease directory.
const EnvDir = "CARBONTRACK_LEASE_DIR"

// suffix ends the name of every lease file.
const suffix = ".lease"

// maxHolderSize bounds how much of a lease file is read to learn its holder.
const maxHolderSize = 4 << 10

// Holder says who holds a lease; it is written, as one JSON object, into the
// lease file by its holder.
type Holder struct {
	// PID is the process id of the holder; 0 when unknown.
	PID int `json:"pid"`
	// Run is the id of the holder's run, if any.
	Run string `json:"run,omitempty"`
	// Node is the host name of the holder, if known.
	Node string `json:"node,omitempty"`
	// Rank is the holder's global rank in a distributed job; -1 when unknown.
	Rank int `json:"rank"`
	// Since is when the holder took the lease.
	Since time.Time `json:"since"`
}

// String formats the holder for people: "pid 1234 (run r7, rank 1)", or
// "pid 1234" when nothing else is known (no run, no node, a negative rank).
// A Holder with no PID, run or node is "unknown holder".
func (h Holder) String() string {
	var extra []string
	if h.Run != "" {
		extra = append(extra, "run "+h.Run)
	}
	if h.Node != "" {
		extra = append(extra, "node "+h.Node)
	}
	if h.PID <= 0 && len(extra) == 0 {
		return "unknown holder"
	}
	if h.Rank >= 0 {
		extra = append(extra, "rank "+strconv.Itoa(h.Rank))
	}
	s := "pid ?"
	if h.PID > 0 {
		s = "pid " + strconv.Itoa(h.PID)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// DefaultDir returns $CARBONTRACK_LEASE_DIR, else
// filepath.Join(os.TempDir(), "carbontrack-leases").
func DefaultDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "carbontrack-leases")
}

// Set is the leases one tracker holds. Safe for concurrent use.
type Set struct {
	dir string
	me  Holder

	mu     sync.Mutex
	held   map[string]lease // by file name
	closed bool
}

// lease is one held lease: the key it was taken under and its locked file.
type lease struct {
	key string
	f   *os.File
}

// TryAcquire takes the lease named key ("gpu-GPU-8f6e…", "cpu", "dram")
// without blocking. ok is true when the Set holds it (now or already). When
// another process (or another Set, even in this process) holds it, ok is
// false and holder is what the holder wrote (the zero Holder, PID 0, if the
// file cannot be read or parsed yet).
//
// Keys are sanitised to [A-Za-z0-9._-] for the file name (every other byte
// becomes '_'), so keys that differ only there name the same lease; an empty
// key is an error. The file is dir/<key>.lease. Writing the holder into the
// file is best effort: a lease whose file this process may only read (one
// created by another user) is held all the same, but its file keeps the
// previous holder's words.
//
// TryAcquire on a closed Set returns an error wrapping os.ErrClosed.
func (s *Set) TryAcquire(key string) (ok bool, holder Holder, err error) {
	name, err := fileName(key)
	if err != nil {
		return false, Holder{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, Holder{}, fmt.Errorf("lease: acquire %q: set is closed: %w", key, os.ErrClosed)
	}
	if _, ok := s.held[name]; ok {
		return true, Holder{}, nil
	}
	path := filepath.Join(s.dir, name)
	f, writable, err := openLease(path)
	if err != nil {
		return false, Holder{}, fmt.Errorf("lease: acquire %q: %w", key, err)
	}
	got, err := tryLock(f)
	if err != nil {
		f.Close()
		return false, Holder{}, fmt.Errorf("lease: acquire %q: lock %s: %w", key, path, err)
	}
	if !got {
		h := readHolder(f)
		f.Close()
		return false, h, nil
	}
	if writable {
		me := s.me
		if me.Since.IsZero() {
			me.Since = time.Now().Round(0)
		}
		_ = writeHolder(f, me) // best effort: the lock is what excludes
	}
	s.held[name] = lease{key: key, f: f}
	return true, Holder{}, nil
}

// Held returns the keys the Set holds, sorted.
func (s *Set) Held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) == 0 {
		return nil
	}
	keys := make([]string, 0, len(s.held))
	for _, l := range s.held {
		keys = append(keys, l.key)
	}
	sort.Strings(keys)
	return keys
}

// Close releases every lease (the files stay; their content is left, and a
// later holder overwrites it) and is idempotent: calls after the first
// return nil.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for name, l := range s.held {
		if err := l.f.Close(); err != nil { // drops the flock
			errs = append(errs, fmt.Errorf("lease: release %q: %w", l.key, err))
		}
		delete(s.held, name)
	}
	return errors.Join(errs...)
}

// fileName returns the name of the lease file of key.
func fileName(key string) (string, error) {
	if key == "" {
		return "", errors.New("lease: empty key")
	}
	b := []byte(key)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	return string(b) + suffix, nil
}

// readHolder reads the holder written into f, tolerating an empty, partial
// or unparsable file: then it returns the zero Holder.
func readHolder(f *os.File) Holder {
	// The holder writes its name just after taking the lock: a file read
	// in between is empty or half written, so read again a few times.
	for try := 0; ; try++ {
		if h, ok := readHolderOnce(f); ok || try == holderTries-1 {
			return h
		}
		time.Sleep(holderRetry)
	}
}

// holderTries and holderRetry bound how long a reader waits for a new
// holder to write its name: a few milliseconds at most.
const (
	holderTries = 5
	holderRetry = 2 * time.Millisecond
)

func readHolderOnce(f *os.File) (Holder, bool) {
	buf := make([]byte, maxHolderSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Holder{}, false
	}
	var h Holder
	if err := json.NewDecoder(bytes.NewReader(buf[:n])).Decode(&h); err != nil {
		return Holder{}, false
	}
	return h, h.PID > 0
}

// writeHolder replaces the content of f with h as one line of JSON.
func writeHolder(f *os.File, h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	// Write, then cut what an older, longer holder left: a reader never
	// sees an empty file once a holder has written.
	line := append(b, '\n')
	if _, err := f.WriteAt(line, 0); err != nil {
		return err
	}
	err = f.Truncate(int64(len(line)))
	return err
}
