//go:build unix

package runlog_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/internal/runlogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A FIFO named like a log does not block Read; a link to
// /dev/zero is not read until memory runs out.
func TestReadNotRegularFiles(t *testing.T) {
	t.Run("fifo", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "9.9_2024-01-01T000000Z"+runlog.SuffixJSONLines)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skip("mkfifo:", err)
		}
		done := make(chan error, 1)
		go func() { _, err := runlog.Read(dir); done <- err }()
		select {
		case err := <-done:
			require.Error(t, err)
			assert.Contains(t, err.Error(), p)
			assert.Contains(t, err.Error(), "not a regular file")
		case <-time.After(5 * time.Second):
			// Unblock the reader so that the test can end.
			if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				f.Close()
			}
			<-done
			t.Fatal("Read blocks on a FIFO")
		}
	})
	t.Run("fifo beside a pair", func(t *testing.T) {
		dir := t.TempDir()
		runlogtest.Write(t, dir, "9.9_x"+runlog.SuffixStdLog, runlogtest.CTStd)
		runlogtest.Write(t, dir, "9.9_x"+runlog.SuffixOutputLog, runlogtest.CTOut)
		p := filepath.Join(dir, "9.9_x"+runlog.SuffixJSONLines)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skip("mkfifo:", err)
		}
		done := make(chan struct{})
		var runs []runlog.Run
		go func() { runs, _ = runlog.Read(dir); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				f.Close()
			}
			<-done
			t.Fatal("Read blocks on a FIFO")
		}
		require.Len(t, runs, 1, "the pair is read")
		assert.Equal(t, runlog.FormatCarbontracker, runs[0].Format)
	})
	t.Run("dev zero", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip(err)
		}
		for _, suffix := range []string{runlog.SuffixJSONLines, runlog.SuffixStdLog, runlog.SuffixPower} {
			dir := t.TempDir()
			p := filepath.Join(dir, "9.9_x"+suffix)
			require.NoError(t, os.Symlink("/dev/zero", p))
			if suffix == runlog.SuffixPower {
				runlogtest.Write(t, dir, "9.9_x"+runlog.SuffixJSONLines, runlogtest.KilledJSONL)
			}
			var (
				runs []runlog.Run
				err  error
			)
			got := runlogtest.Allocated(func() { runs, err = runlog.Read(dir) })
			assert.Less(t, got, uint64(64<<20))
			if suffix == runlog.SuffixPower {
				require.NoError(t, err)
				require.Len(t, runs, 1)
				assert.Contains(t, runs[0].Note, p+": not a regular file")
				continue
			}
			require.Error(t, err, suffix)
			assert.Contains(t, err.Error(), p+": not a regular file")
		}
	})
}
