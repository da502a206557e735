//go:build unix

package power

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakePowermetrics writes an executable shell script standing in for
// powermetrics and returns its path.
func fakePowermetrics(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "powermetrics")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755))
	return path
}

func TestPMProcessLifecycle(t *testing.T) {
	stream, err := filepath.Abs(filepath.Join("testdata", "powermetrics", "m1-ane-stream.plists"))
	require.NoError(t, err)
	tests := map[string]string{
		// exec: the shell becomes the long-running process, as powermetrics is.
		"one process": `cat '` + stream + `'; exec sleep 60`,
		// A child that keeps the output pipes open after the process is
		// killed must not block Close nor the reaping.
		"a child holds the pipes": `cat '` + stream + `'; sleep 4; exit 0`,
	}
	for name, script := range tests {
		t.Run(name, func(t *testing.T) {
			path := fakePowermetrics(t, script)
			p, err := startPowermetrics(path)
			require.NoError(t, err)
			select {
			case <-p.feed.first:
			case <-time.After(10 * time.Second):
				t.Fatal("no first sample")
			}
			sources := newPMSources(p.feed, p.stop, "Apple M1", pmTestOptions())
			require.Len(t, sources, 3)
			var r Reading
			require.Eventually(t, func() bool {
				p.feed.mu.Lock()
				defer p.feed.mu.Unlock()
				return p.feed.samples == 4
			}, 10*time.Second, 10*time.Millisecond)
			require.NoError(t, sources[0].Read(context.Background(), &r))
			assert.NotEmpty(t, r.Samples)

			pid := p.cmd.Process.Pid
			start := time.Now()
			d := &Discovery{Sources: sources}
			require.NoError(t, d.Close())
			assert.Less(t, time.Since(start), pmStopWait+time.Second, "Close never blocks for long")
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				t.Fatal("powermetrics not reaped")
			}
			// Reaped: no zombie left (a zombie still answers signal 0).
			assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH)
			select {
			case <-p.feed.ended:
			case <-time.After(5 * time.Second):
				t.Fatal("the reading goroutine did not end")
			}
			require.NoError(t, d.Close())
		})
	}
}

func TestPMOpenFailures(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		script string
		want   []string
	}{
		"not root": {
			`echo "powermetrics must be invoked as the superuser" >&2; exit 1`,
			[]string{"exited before its first sample", "exit status 1", "must be invoked as the superuser", "sudo", "--declare"},
		},
		"silent":  {`exec sleep 60`, []string{"no sample", "sudo"}},
		"garbage": {`printf 'Unrecognized sampler: ane_power\0'; exit 2`, []string{"exited before its first sample", "exit status 2"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			sources, err := openPowermetrics(ctx, fakePowermetrics(t, tt.script), "Apple M1", pmTestOptions(), 500*time.Millisecond)
			assert.Empty(t, sources)
			require.ErrorIs(t, err, ErrNotSupported)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Less(t, time.Since(start), 500*time.Millisecond+pmStopWait+time.Second)
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := openPowermetrics(ctx, filepath.Join(t.TempDir(), "powermetrics"), "Apple M1", pmTestOptions(), time.Second)
		require.ErrorIs(t, err, ErrNotSupported)
		assert.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
	})

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := openPowermetrics(cctx, fakePowermetrics(t, `exec sleep 60`), "Apple M1", pmTestOptions(), 10*time.Second)
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("parts not asked for", func(t *testing.T) {
		stream, err := filepath.Abs(filepath.Join("testdata", "powermetrics", "m1-ane-stream.plists"))
		require.NoError(t, err)
		_, err = openPowermetrics(ctx, fakePowermetrics(t, `cat '`+stream+`'; exec sleep 60`), "Apple M1", pmTestOptions(KindDRAM), 10*time.Second)
		require.ErrorIs(t, err, ErrNotSupported)
		assert.True(t, strings.Contains(err.Error(), "no power of the parts asked for"), "%v", err)
	})
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	_, _ = b.Write([]byte("0123456789"))
	_, _ = b.Write([]byte("ab"))
	assert.Equal(t, "456789ab", b.String())
}
