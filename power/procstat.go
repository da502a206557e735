package power

import (
	"bytes"
	"errors"
	"math"
)

// userHz is USER_HZ, the unit of every CPU time in /proc/stat and
// /proc/<pid>/stat: 100 ticks a second on every architecture Linux runs on
// (the kernel fixes it for user space whatever its internal HZ).
const userHz = 100

// cpuJiffies are the machine's cumulative CPU times from the aggregate "cpu"
// line of /proc/stat, in USER_HZ ticks, in the kernel's order. Kernels older
// than 2.6.33 print fewer of them; the missing ones are zero.
type cpuJiffies struct {
	user, nice, system, idle, iowait, irq, softirq, steal, guest, guestNice uint64
}

// busy returns the ticks spent working for this machine: user, nice, system,
// irq and softirq. Guest time is already counted in user and nice; steal is
// time the hypervisor gave to other guests, not this machine's work.
func (j cpuJiffies) busy() uint64 { return j.user + j.nice + j.system + j.irq + j.softirq }

// total returns busy plus the idle ticks (idle, iowait) and steal.
func (j cpuJiffies) total() uint64 { return j.busy() + j.idle + j.iowait + j.steal }

// The aggregate cpu line has at least 4 counts (user, nice, system, idle:
// Linux 2.4) and at most 10 that carbontrack reads (Linux 2.6.33 and later
// print guest_nice as the tenth); further fields are ignored.
const (
	cpuStatMinFields = 4
	cpuStatMaxFields = 10
)

// Errors of the /proc parsers; wrapped with the file's path by their callers.
var (
	errNoCPULine     = errors.New("no aggregate \"cpu\" line")
	errBadCPULine    = errors.New("malformed aggregate \"cpu\" line")
	errBadPIDStat    = errors.New("malformed process stat")
	errNoBootTime    = errors.New("no btime line")
	errProcTruncated = errors.New("line longer than the read buffer")
)

// isStatSpace reports whether c separates fields: the ASCII white space that
// strings.Fields splits on.
func isStatSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// parseDecimal parses b, one or more ASCII digits and nothing else, as a
// uint64, without allocating. It reports false on anything else or on
// overflow.
func parseDecimal(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// nextField returns the first field of b after any leading white space and
// what follows it; field is empty when b holds no more fields.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && isStatSpace(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isStatSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

// parseCPUStatLine parses the aggregate line of /proc/stat: "cpu" then
// between 4 and 10 cumulative tick counts (more are ignored), separated by
// white space. It allocates nothing.
func parseCPUStatLine(line []byte) (cpuJiffies, error) {
	name, rest := nextField(line)
	if string(name) != "cpu" {
		return cpuJiffies{}, errBadCPULine
	}
	var v [cpuStatMaxFields]uint64
	n := 0
	for n < cpuStatMaxFields {
		var f []byte
		f, rest = nextField(rest)
		if len(f) == 0 {
			break
		}
		x, ok := parseDecimal(f)
		if !ok {
			return cpuJiffies{}, errBadCPULine
		}
		v[n] = x
		n++
	}
	if n < cpuStatMinFields {
		return cpuJiffies{}, errBadCPULine
	}
	return cpuJiffies{user: v[0], nice: v[1], system: v[2], idle: v[3], iowait: v[4],
		irq: v[5], softirq: v[6], steal: v[7], guest: v[8], guestNice: v[9]}, nil
}

// parseProcStat finds and parses the aggregate "cpu" line in buf, the start
// of /proc/stat (the kernel prints that line first). eof says whether buf
// holds the whole file; when it does not, only complete lines are looked at.
// It allocates nothing.
func parseProcStat(buf []byte, eof bool) (cpuJiffies, error) {
	for len(buf) > 0 {
		line, rest, complete := buf, []byte(nil), eof
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line, rest, complete = buf[:i], buf[i+1:], true
		}
		if name, _ := nextField(line); string(name) == "cpu" {
			if !complete {
				return cpuJiffies{}, errProcTruncated
			}
			return parseCPUStatLine(line)
		}
		buf = rest
	}
	return cpuJiffies{}, errNoCPULine
}

// parseBootTime returns the "btime" of /proc/stat, the boot time in seconds
// since the Unix epoch.
func parseBootTime(stat []byte) (int64, error) {
	for len(stat) > 0 {
		line, rest := stat, []byte(nil)
		if i := bytes.IndexByte(stat, '\n'); i >= 0 {
			line, rest = stat[:i], stat[i+1:]
		}
		if name, v := nextField(line); string(name) == "btime" {
			f, _ := nextField(v)
			if s, ok := parseDecimal(f); ok && s <= math.MaxInt64 {
				return int64(s), nil
			}
			return 0, errNoBootTime
		}
		stat = rest
	}
	return 0, errNoBootTime
}

// pidStat is what carbontrack reads of one process: its parent, its CPU
// times and those of its children it waited for, in USER_HZ ticks, its start
// time and its resident memory.
type pidStat struct {
	ppid                         int32
	utime, stime, cutime, cstime uint64
	// startMillis is when the process started, in milliseconds since the
	// Unix epoch.
	startMillis int64
	// rssBytes is the resident set size in bytes.
	rssBytes uint64
}

// cpuTicks returns the process's CPU time with that of the children it
// waited for: when a child of the tree exits and is reaped, its time moves
// into its parent's cutime and cstime, so the sum stays continuous.
func (s pidStat) cpuTicks() uint64 { return s.utime + s.stime + s.cutime + s.cstime }

// Fields of /proc/<pid>/stat, numbered from 1 as in proc(5).
const (
	pidStatPPID      = 4
	pidStatUtime     = 14
	pidStatStime     = 15
	pidStatCutime    = 16
	pidStatCstime    = 17
	pidStatStartTime = 22
	pidStatRSS       = 24
)

// pidStatRaw is /proc/<pid>/stat's fields as printed: times in USER_HZ ticks,
// start time in ticks since boot, resident set in pages.
type pidStatRaw struct {
	ppid                         int32
	utime, stime, cutime, cstime uint64
	startTicks, rssPages         uint64
}

// parsePIDStat parses /proc/<pid>/stat: "pid (comm) state ppid ...", where
// comm may itself contain spaces and parentheses, so the fields are counted
// from the last ')'. It allocates nothing.
func parsePIDStat(b []byte) (pidStatRaw, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return pidStatRaw{}, errBadPIDStat
	}
	rest := b[i+1:]
	var s pidStatRaw
	for n := 3; n <= pidStatRSS; n++ {
		var f []byte
		f, rest = nextField(rest)
		if len(f) == 0 {
			return pidStatRaw{}, errBadPIDStat
		}
		var dst *uint64
		switch n {
		case pidStatPPID:
			v, ok := parseDecimal(f)
			if !ok || v > math.MaxInt32 {
				return pidStatRaw{}, errBadPIDStat
			}
			s.ppid = int32(v)
			continue
		case pidStatUtime:
			dst = &s.utime
		case pidStatStime:
			dst = &s.stime
		case pidStatCutime:
			dst = &s.cutime
		case pidStatCstime:
			dst = &s.cstime
		case pidStatStartTime:
			dst = &s.startTicks
		case pidStatRSS:
			dst = &s.rssPages
		default:
			continue
		}
		v, ok := parseDecimal(f)
		if !ok {
			return pidStatRaw{}, errBadPIDStat
		}
		*dst = v
	}
	return s, nil
}
