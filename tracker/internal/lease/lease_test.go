//go:build unix && !aix && !solaris

package lease

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// envHelper switches the test binary into TestHelperProcess's holder: its
// value is the lease directory.
const envHelper = "CARBONTRACK_LEASE_TEST_HELPER"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func open(t *testing.T, dir string, me Holder) *Set {
	t.Helper()
	s, err := Open(dir, me)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTwoSetsInOneProcess(t *testing.T) {
	dir := t.TempDir()
	since := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	a := open(t, dir, Holder{Run: "r7", Node: "n1", Rank: 1, Since: since})
	b := open(t, dir, Holder{Run: "r7", Rank: 2})

	ok, h, err := a.TryAcquire("gpu-0")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Zero(t, h)

	ok, h, err = b.TryAcquire("gpu-0")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, Holder{PID: os.Getpid(), Run: "r7", Node: "n1", Rank: 1, Since: since}, h.withUTC())
	assert.Empty(t, b.Held())

	// Another device is free for b.
	ok, _, err = b.TryAcquire("gpu-1")
	require.NoError(t, err)
	assert.True(t, ok)

	require.NoError(t, a.Close())
	ok, _, err = b.TryAcquire("gpu-0")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"gpu-0", "gpu-1"}, b.Held())

	// b's holder replaced a's in the file, whole.
	data, err := os.ReadFile(filepath.Join(dir, "gpu-0.lease"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "n1")
	assert.True(t, strings.HasSuffix(string(data), "}\n"), "%q", data)
	assert.Equal(t, 1, strings.Count(string(data), "\n"))
}

func (h Holder) withUTC() Holder {
	h.Since = h.Since.UTC()
	return h
}

func TestTryAcquireTwice(t *testing.T) {
	s := open(t, t.TempDir(), Holder{Rank: -1})
	for range 2 {
		ok, _, err := s.TryAcquire("cpu")
		require.NoError(t, err)
		assert.True(t, ok)
	}
	assert.Equal(t, []string{"cpu"}, s.Held())
}

func TestHeldSorted(t *testing.T) {
	s := open(t, t.TempDir(), Holder{Rank: -1})
	assert.Nil(t, s.Held())
	for _, k := range []string{"gpu-b", "dram", "cpu", "gpu-a"} {
		ok, _, err := s.TryAcquire(k)
		require.NoError(t, err)
		require.True(t, ok)
	}
	assert.Equal(t, []string{"cpu", "dram", "gpu-a", "gpu-b"}, s.Held())
}

func TestKeySanitising(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Holder{Rank: -1})
	ok, _, err := s.TryAcquire("gpu:0/x")
	require.NoError(t, err)
	require.True(t, ok)
	assert.FileExists(t, filepath.Join(dir, "gpu_0_x.lease"))
	assert.Equal(t, []string{"gpu:0/x"}, s.Held())

	// A key that sanitises to the same name is the same lease.
	ok, _, err = s.TryAcquire("gpu_0_x")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"gpu:0/x"}, s.Held())

	for key, want := range map[string]string{
		"gpu-GPU-8f6e.A_1": "gpu-GPU-8f6e.A_1.lease",
		"..":               "...lease",
		"é":                "__.lease",
		"a b\x00c":         "a_b_c.lease",
	} {
		got, err := fileName(key)
		require.NoError(t, err)
		assert.Equal(t, want, got, "key %q", key)
	}

	ok, _, err = s.TryAcquire("")
	assert.Error(t, err)
	assert.False(t, ok)
}

func TestOpenUnderFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		s, err := Open(dir, Holder{})
		assert.Nil(t, s)
		require.Error(t, err, dir)
		assert.Contains(t, err.Error(), dir)
		assert.Contains(t, err.Error(), "cannot coordinate")
	}
}

func TestOpenReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	ro := filepath.Join(t.TempDir(), "ro")
	require.NoError(t, os.Mkdir(ro, 0o555))
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	for _, dir := range []string{ro, filepath.Join(ro, "sub")} {
		s, err := Open(dir, Holder{})
		assert.Nil(t, s)
		require.Error(t, err, dir)
		assert.ErrorIs(t, err, os.ErrPermission)
		assert.Contains(t, err.Error(), "cannot coordinate")
	}
}

func TestOpenCreatesSharedDir(t *testing.T) {
	old := syscall.Umask(0o077) // Open must not let the umask narrow the mode
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "a", "leases")
	open(t, dir, Holder{})
	fi, err := os.Lstat(dir)
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	assert.Equal(t, os.ModeSticky|0o777, fi.Mode()&(os.ModeSticky|os.ModePerm), "%v", fi.Mode())

	// An existing directory keeps its mode.
	mine := t.TempDir()
	require.NoError(t, os.Chmod(mine, 0o700))
	open(t, mine, Holder{})
	fi, err = os.Lstat(mine)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode()&(os.ModeSticky|os.ModePerm))
}

func TestLeaseFileMode(t *testing.T) {
	// A umask of 077 used to leave files other users' trackers could not
	// open, so each of them counted the device again.
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	s := open(t, dir, Holder{})
	ok, _, err := s.TryAcquire("dram")
	require.NoError(t, err)
	require.True(t, ok)
	fi, err := os.Lstat(filepath.Join(dir, "dram.lease"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode())
}

// A lease directory that is a link is refused: in a world-writable parent
// another user could point it at files of the caller's.
func TestOpenRefusesLinkedDir(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "elsewhere")
	require.NoError(t, os.Mkdir(target, 0o755))
	link := filepath.Join(base, "leases")
	require.NoError(t, os.Symlink(target, link))
	_, err := Open(link, Holder{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "symbolic link")
}

func TestReadOnlyLeaseFile(t *testing.T) {
	// Another user's lease file: this process may only read it, and that
	// is enough to hold the lease. (Root can write anyway.)
	dir := t.TempDir()
	path := filepath.Join(dir, "gpu-0.lease")
	require.NoError(t, os.WriteFile(path, []byte(`{"pid":1,"rank":-1,"since":"2025-01-01T00:00:00Z"}`+"\n"), 0o444))
	a := open(t, dir, Holder{})
	ok, _, err := a.TryAcquire("gpu-0")
	require.NoError(t, err)
	require.True(t, ok)
	b := open(t, dir, Holder{})
	ok, _, err = b.TryAcquire("gpu-0")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestNotRegularFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(target, []byte("keep me"), 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "gpu-0.lease")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "gpu-1.lease"), 0o644))
	s := open(t, dir, Holder{})
	for _, key := range []string{"gpu-0", "gpu-1"} {
		ok, _, err := s.TryAcquire(key)
		assert.Error(t, err, key)
		assert.False(t, ok, key)
	}
	data, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(data))
}

func TestPartialHolder(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, Holder{})
	ok, _, err := a.TryAcquire("cpu")
	require.NoError(t, err)
	require.True(t, ok)
	b := open(t, dir, Holder{})
	path := filepath.Join(dir, "cpu.lease")
	for _, content := range []string{"", `{"pid":12`, "garbage", `{"pid":"x"}`} {
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		ok, h, err := b.TryAcquire("cpu")
		require.NoError(t, err, "%q", content)
		assert.False(t, ok)
		assert.Zero(t, h, "%q", content)
		assert.Equal(t, "unknown holder", h.String())
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Holder{})
	require.NoError(t, err)
	ok, _, err := s.TryAcquire("cpu")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	assert.Nil(t, s.Held())
	ok, _, err = s.TryAcquire("cpu")
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.False(t, ok)
	assert.FileExists(t, filepath.Join(dir, "cpu.lease"))
}

func TestConcurrentSets(t *testing.T) {
	dir := t.TempDir()
	keys := []string{"gpu-0", "gpu-1", "gpu-2", "cpu", "dram"}
	sets := make([]*Set, 8)
	for i := range sets {
		sets[i] = open(t, dir, Holder{Rank: i})
	}
	var wg sync.WaitGroup
	for _, s := range sets {
		for _, k := range keys {
			wg.Go(func() {
				_, _, err := s.TryAcquire(k)
				assert.NoError(t, err)
			})
		}
	}
	wg.Wait()
	count := make(map[string]int)
	for _, s := range sets {
		for _, k := range s.Held() {
			count[k]++
		}
	}
	for _, k := range keys {
		assert.Equal(t, 1, count[k], k)
	}
}

func TestHolderString(t *testing.T) {
	for _, tc := range []struct {
		h    Holder
		want string
	}{
		{Holder{PID: 1234, Run: "r7", Rank: 1}, "pid 1234 (run r7, rank 1)"},
		{Holder{PID: 1234, Rank: -1}, "pid 1234"},
		{Holder{PID: 1234}, "pid 1234 (rank 0)"},
		{Holder{PID: 1234, Node: "n1", Rank: -1}, "pid 1234 (node n1)"},
		{Holder{PID: 1234, Run: "r7", Node: "n1", Rank: 3}, "pid 1234 (run r7, node n1, rank 3)"},
		{Holder{Run: "r7", Rank: -1}, "pid ? (run r7)"},
		{Holder{}, "unknown holder"},
	} {
		assert.Equal(t, tc.want, tc.h.String())
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(EnvDir, "")
	assert.Equal(t, filepath.Join(os.TempDir(), "carbontrack-leases"), DefaultDir())
	t.Setenv(EnvDir, "/run/ct")
	assert.Equal(t, "/run/ct", DefaultDir())
}

// TestHelperProcess is the holder that TestKilledHolderFreesLease runs in
// another process; run by itself it does nothing.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(envHelper)
	if dir == "" {
		return
	}
	s, err := Open(dir, Holder{Run: "child", Rank: 3})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if ok, h, err := s.TryAcquire("gpu-0"); !ok || err != nil {
		fmt.Fprintln(os.Stderr, "acquire:", ok, h, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // until killed; a lost parent's child goes away
	os.Exit(3)
}

func TestKilledHolderFreesLease(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Wait()
	defer cmd.Process.Kill()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "child stderr: %s", &stderr)
	require.Equal(t, "ready\n", line)

	s := open(t, dir, Holder{Rank: 0})
	ok, h, err := s.TryAcquire("gpu-0")
	require.NoError(t, err)
	require.False(t, ok)
	assert.Equal(t, cmd.Process.Pid, h.PID)
	assert.Equal(t, "child", h.Run)
	assert.Equal(t, 3, h.Rank)
	assert.False(t, h.Since.IsZero())

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err = cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	ws, _ := exitErr.Sys().(syscall.WaitStatus)
	assert.Equal(t, syscall.SIGKILL, ws.Signal())

	ok, _, err = s.TryAcquire("gpu-0")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"gpu-0"}, s.Held())
}
