package power

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realProcStat is /proc/stat as a 2-vCPU Linux 6.x VM prints it.
const realProcStat = `cpu  25952 3 14696 27462 126 7 172 11 5 1
cpu0 12741 1 7467 13912 23 3 45 5 2 0
cpu1 13211 2 7229 13549 103 4 127 6 3 1
intr 556336 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 10 0 0 0 0 68 20 0 18 1 48524 0 4764 4061 0 1681 3218 1
ctxt 1055512
btime 1718031234
processes 14170
procs_running 2
procs_blocked 0
softirq 412344 0 123010 12 47022 4761 0 98 140201 0 97240
`

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		eof  bool
		want cpuJiffies
		err  error
	}{
		{name: "Linux 2.6.33+: 10 counts", in: realProcStat, eof: true,
			want: cpuJiffies{user: 25952, nice: 3, system: 14696, idle: 27462, iowait: 126, irq: 7, softirq: 172, steal: 11, guest: 5, guestNice: 1}},
		{name: "Linux 2.6.24: 9 counts", in: "cpu  1 2 3 4 5 6 7 8 9\ncpu0 1 2 3 4 5 6 7 8 9\n", eof: true,
			want: cpuJiffies{user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8, guest: 9}},
		{name: "Linux 2.6.11: 8 counts (steal)", in: "cpu  1 2 3 4 5 6 7 8\n", eof: true,
			want: cpuJiffies{user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8}},
		{name: "Linux 2.6.0: 7 counts", in: "cpu  1 2 3 4 5 6 7\n", eof: true,
			want: cpuJiffies{user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7}},
		{name: "Linux 2.4: 4 counts", in: "cpu  1 2 3 4\npage 5 6\n", eof: true,
			want: cpuJiffies{user: 1, nice: 2, system: 3, idle: 4}},
		{name: "a future 11th count is ignored", in: "cpu  1 2 3 4 5 6 7 8 9 10 11\n", eof: true,
			want: cpuJiffies{user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8, guest: 9, guestNice: 10}},
		{name: "no trailing newline at the end of the file", in: "cpu 1 2 3 4 5 6 7 8 9 10", eof: true,
			want: cpuJiffies{user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8, guest: 9, guestNice: 10}},
		{name: "tabs", in: "cpu\t1\t2\t3\t4\n", eof: true, want: cpuJiffies{user: 1, nice: 2, system: 3, idle: 4}},
		{name: "largest counts", in: "cpu  18446744073709551615 0 0 18446744073709551615\n", eof: true,
			want: cpuJiffies{user: 1<<64 - 1, idle: 1<<64 - 1}},
		{name: "start of a longer file: the cpu line is complete", in: realProcStat[:200], eof: false,
			want: cpuJiffies{user: 25952, nice: 3, system: 14696, idle: 27462, iowait: 126, irq: 7, softirq: 172, steal: 11, guest: 5, guestNice: 1}},
		{name: "cpu line cut by the buffer", in: realProcStat[:30], eof: false, err: errProcTruncated},
		{name: "3 counts", in: "cpu  1 2 3\n", eof: true, err: errBadCPULine},
		{name: "negative count", in: "cpu  1 -2 3 4\n", eof: true, err: errBadCPULine},
		{name: "overflow", in: "cpu  18446744073709551616 0 0 0\n", eof: true, err: errBadCPULine},
		{name: "garbage in a count", in: "cpu  1 2x 3 4\n", eof: true, err: errBadCPULine},
		{name: "per-CPU lines only", in: "cpu0 1 2 3 4\ncpu1 1 2 3 4\n", eof: true, err: errNoCPULine},
		{name: "empty", in: "", eof: true, err: errNoCPULine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.in), tt.eof)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCPUJiffiesBusyAndTotal(t *testing.T) {
	j := cpuJiffies{user: 300, nice: 100, system: 100, idle: 300, iowait: 100, irq: 50, softirq: 50, steal: 200, guest: 250, guestNice: 50}
	assert.Equal(t, uint64(600), j.busy(), "user, nice, system, irq, softirq; guest is inside user and nice")
	assert.Equal(t, uint64(1200), j.total(), "busy, idle, iowait and steal")
}

func TestParseBootTime(t *testing.T) {
	got, err := parseBootTime([]byte(realProcStat))
	require.NoError(t, err)
	assert.Equal(t, int64(1718031234), got)
	_, err = parseBootTime([]byte("cpu  1 2 3 4\n"))
	require.ErrorIs(t, err, errNoBootTime)
	_, err = parseBootTime([]byte("btime x\n"))
	require.ErrorIs(t, err, errNoBootTime)
}

func TestParsePIDStat(t *testing.T) {
	// /proc/<pid>/stat of a shell (Linux 6.x), and of a process whose comm
	// holds spaces and parentheses.
	const sh = "14165 (sh) S 14157 14157 5749 0 -1 4194304 100 0 0 0 12 34 56 78 20 0 1 0 34293 3133440 378 18446744073709551615 94301716070400 0 0\n"
	got, err := parsePIDStat([]byte(sh))
	require.NoError(t, err)
	assert.Equal(t, pidStatRaw{ppid: 14157, utime: 12, stime: 34, cutime: 56, cstime: 78, startTicks: 34293, rssPages: 378}, got)

	odd := strings.Replace(sh, "(sh)", "(a) b (c))", 1)
	got, err = parsePIDStat([]byte(odd))
	require.NoError(t, err)
	assert.Equal(t, int32(14157), got.ppid)
	assert.Equal(t, uint64(378), got.rssPages)

	for _, bad := range []string{"", "14165 sh S 1", "14165 (sh) S 14157 14157", strings.Replace(sh, " 12 ", " -12 ", 1)} {
		_, err := parsePIDStat([]byte(bad))
		assert.ErrorIs(t, err, errBadPIDStat, "%q", bad)
	}
}

// referenceCPUStatLine is the plain reading of the aggregate cpu line:
// strings.Fields and strconv.
func referenceCPUStatLine(line string) ([cpuStatMaxFields]uint64, bool) {
	var v [cpuStatMaxFields]uint64
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "cpu" {
		return v, false
	}
	counts := f[1:min(len(f), cpuStatMaxFields+1)]
	if len(counts) < cpuStatMinFields {
		return v, false
	}
	for i, s := range counts {
		x, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return v, false
		}
		v[i] = x
	}
	return v, true
}

// FuzzParseCPUStatLine checks the allocation-free parser of /proc/stat's
// aggregate line against strings.Fields and strconv.ParseUint.
func FuzzParseCPUStatLine(f *testing.F) {
	for _, s := range []string{
		"cpu  25952 3 14696 27462 126 7 172 11 5 1",
		"cpu  1 2 3 4 5 6 7 8 9",
		"cpu  1 2 3 4 5 6 7 8",
		"cpu 1 2 3 4 5 6 7",
		"cpu 1 2 3 4",
		"cpu 1 2 3",
		"cpu  1 2 3 4 5 6 7 8 9 10 11 x",
		"cpu0 1 2 3 4",
		" cpu\t1\t2\t3\t4 ",
		"cpu  18446744073709551615 0 0 0",
		"cpu  18446744073709551616 0 0 0",
		"cpu  +1 2 3 4",
		"cpu  1_0 2 3 4",
		"cpu  1 2 3 4\x00",
		"cpu\v1\f2\r3\n4",
		"",
		"cpu",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, c := range line {
			if c >= 0x80 {
				// The kernel writes ASCII; strings.Fields would also split
				// on Unicode spaces, which the parser need not know.
				t.Skip()
			}
		}
		got, err := parseCPUStatLine(line)
		want, ok := referenceCPUStatLine(string(line))
		if !ok {
			if err == nil {
				t.Fatalf("parseCPUStatLine(%q) = %+v, want an error", line, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("parseCPUStatLine(%q): %v, want %v", line, err, want)
		}
		gotv := [cpuStatMaxFields]uint64{got.user, got.nice, got.system, got.idle, got.iowait,
			got.irq, got.softirq, got.steal, got.guest, got.guestNice}
		if gotv != want {
			t.Fatalf("parseCPUStatLine(%q) = %v, want %v", line, gotv, want)
		}
	})
}

// FuzzParsePIDStat checks the /proc/<pid>/stat parser against strings.Fields
// and strconv on the fields after the last ')'.
func FuzzParsePIDStat(f *testing.F) {
	f.Add([]byte("14165 (sh) S 14157 14157 5749 0 -1 4194304 100 0 0 0 12 34 56 78 20 0 1 0 34293 3133440 378 18446744073709551615 0\n"))
	f.Add([]byte("1 (a) b (c)) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11"))
	f.Add([]byte("1 (x) S 1 2 3"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range b {
			if c >= 0x80 {
				t.Skip()
			}
		}
		got, err := parsePIDStat(b)
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		var fields []string
		if i >= 0 {
			fields = strings.Fields(s[i+1:])
		}
		want, ok := pidStatRaw{}, i >= 0 && len(fields) >= pidStatRSS-2
		field := func(n int) uint64 {
			if !ok {
				return 0
			}
			v, err := strconv.ParseUint(fields[n-3], 10, 64)
			if err != nil {
				ok = false
			}
			return v
		}
		ppid := field(pidStatPPID)
		if ppid > 1<<31-1 {
			ok = false
		}
		want.ppid = int32(ppid)
		want.utime, want.stime = field(pidStatUtime), field(pidStatStime)
		want.cutime, want.cstime = field(pidStatCutime), field(pidStatCstime)
		want.startTicks, want.rssPages = field(pidStatStartTime), field(pidStatRSS)
		if !ok {
			if err == nil {
				t.Fatalf("parsePIDStat(%q) = %+v, want an error", b, got)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("parsePIDStat(%q) = %+v, %v; want %+v", b, got, err, want)
		}
	})
}
