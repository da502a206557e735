package records

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LogTimeLayout is the time stamp of each line of the carbontracker log pair
// (Python's "%Y-%m-%d %H:%M:%S", local time).
const LogTimeLayout = "2006-01-02 15:04:05"

// DefaultPUE is carbontracker's power usage effectiveness, 1.58, which a
// log pair that does not say its PUE was written with (the tracker's
// default too, tracker.DefaultPUE).
const DefaultPUE = 1.58

// RunBlockTitle opens the block of carbontracker's output log that
// carbontrack adds at Stop: the whole run's measured consumption, epochs or
// not. carbontracker's own parser does not read it (it reads the predicted
// and actual blocks, which are unchanged); ParseLog reads it into Log.Run.
const RunBlockTitle = "Measured consumption of the whole run:"

// Consumption is a predicted or actual consumption block of a carbontracker
// output log.
type Consumption struct {
	// Epochs is the number of epochs the block is for.
	Epochs int
	// Duration is the block's time, to the second.
	Duration time.Duration
	// KWh is the energy (PUE included) and Grams the emissions.
	KWh, Grams float64
	// Equivalents are the interpretable equivalents, unit → value.
	Equivalents map[string]float64
}

// ComponentLog is what a carbontracker standard log says of one component.
type ComponentLog struct {
	// Devices are the component's devices.
	Devices []string
	// AvgPower is the average power of each epoch in watts, summed over
	// the component's devices (carbontracker writes one value per device).
	AvgPower []float64
}

// Log is a parsed carbontracker log pair.
type Log struct {
	// Components are keyed by lower-case name: "gpu", "cpu", "dram".
	Components map[string]*ComponentLog
	// EpochDurations are in seconds, in order.
	EpochDurations []float64
	// EarlyStop is true when training was interrupted.
	EarlyStop bool
	// Predicted and Actual are the blocks of the output log, nil if absent.
	Predicted, Actual *Consumption
	// Run is the whole run's measured consumption (RunBlockTitle), which
	// carbontrack writes at Stop and carbontracker does not; nil if absent.
	Run *Consumption
}

// logPatterns are carbontracker's log patterns.
type logPatterns struct {
	components, device, duration, power, early, block, hms *regexp.Regexp
}

// patterns compiles the log patterns on the first ParseLog, not when the
// package is loaded: a program that only writes logs never needs them.
var patterns = sync.OnceValue(func() *logPatterns {
	return &logPatterns{
		components: regexp.MustCompile(`The following components were found:(.*)\n`),
		device:     regexp.MustCompile(` (.*?) with device\(s\) (.*?)\.`),
		duration:   regexp.MustCompile(`Duration: (\d+):(\d{2}):(\d\d?(?:.\d{2})?)`),
		power:      regexp.MustCompile(`Average power usage \(W\) for (.+?): (\[[^\]\n]*\]|[0-9.eE+-]+|None)`),
		early:      regexp.MustCompile(`(?i)Training was interrupted`),
		block: regexp.MustCompile(`(?i)(Actual|Predicted|Measured) consumption(?: for (\d+) epoch\(s\)| of the whole run)?:` +
			`[\s\S]*?Time:\s*(.*)\n\s*Energy:\s*(.*?)\s+kWh[\s\S]*?CO2eq:\s*(.*?)\s+g` +
			`(?:\s*This is equivalent to:\s*([\s\S]*?))?\s*(?:\n\d{4}-\d{2}-\d{2}|\z)`),
		hms: regexp.MustCompile(`(\d+):(\d{2}):(\d\d?(?:.\d{2})?)`),
	}
})

// ParseLog reads a carbontracker log pair, the standard log std and the
// output log out (either may be nil), with the rules of carbontracker's own
// parser module. Malformed numbers are errors; missing parts are absent.
func ParseLog(std, out io.Reader) (*Log, error) {
	l := &Log{Components: map[string]*ComponentLog{}}
	if std != nil {
		data, err := io.ReadAll(std)
		if err != nil {
			return nil, fmt.Errorf("records: parse log: %w", err)
		}
		if err := l.parseStd(string(data)); err != nil {
			return nil, err
		}
	}
	if out != nil {
		data, err := io.ReadAll(out)
		if err != nil {
			return nil, fmt.Errorf("records: parse log: %w", err)
		}
		if err := l.parseOut(string(data)); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Log) parseStd(s string) error {
	re := patterns()
	if m := re.components.FindStringSubmatch(s); m != nil {
		for _, d := range re.device.FindAllStringSubmatch(m[1], -1) {
			c := &ComponentLog{}
			for _, dev := range strings.Split(d[2], ",") {
				c.Devices = append(c.Devices, strings.TrimSpace(dev))
			}
			l.Components[strings.ToLower(d[1])] = c
		}
	}
	for _, m := range re.duration.FindAllStringSubmatch(s, -1) {
		sec, err := hms(m[1], m[2], m[3])
		if err != nil {
			return err
		}
		l.EpochDurations = append(l.EpochDurations, sec)
	}
	for _, m := range re.power.FindAllStringSubmatch(s, -1) {
		c := l.Components[m[1]]
		if c == nil {
			c = &ComponentLog{}
			l.Components[m[1]] = c
		}
		if m[2] == "None" {
			c.AvgPower = append(c.AvgPower, 0)
			continue
		}
		// One value, or carbontracker's numpy list of one value per device
		// ("[251.0775 248.3122]", "[ 61.23  58.91]"): devices are summed.
		var sum float64
		fields := strings.Fields(strings.Trim(m[2], "[]"))
		if len(fields) == 0 {
			return fmt.Errorf("records: parse log: power %q: no value", m[2])
		}
		for _, f := range fields {
			v, err := strconv.ParseFloat(strings.TrimSuffix(f, ","), 64)
			if err != nil {
				return fmt.Errorf("records: parse log: power %q: %w", m[2], err)
			}
			sum += v
		}
		c.AvgPower = append(c.AvgPower, sum)
	}
	l.EarlyStop = re.early.MatchString(s)
	return nil
}

func (l *Log) parseOut(s string) error {
	re := patterns()
	for _, m := range re.block.FindAllStringSubmatch(s, -1) {
		c := &Consumption{}
		if m[2] != "" {
			n, err := strconv.Atoi(m[2])
			if err != nil {
				return fmt.Errorf("records: parse log: epochs %q: %w", m[2], err)
			}
			c.Epochs = n
		}
		if t := re.hms.FindStringSubmatch(m[3]); t != nil {
			sec, err := hms(t[1], t[2], t[3])
			if err != nil {
				return err
			}
			if sec*float64(time.Second) >= math.MaxInt64 {
				return fmt.Errorf("records: parse log: duration %q out of range", m[3])
			}
			c.Duration = time.Duration(sec * float64(time.Second))
		}
		var err error
		if c.KWh, err = strconv.ParseFloat(strings.TrimSpace(m[4]), 64); err != nil {
			return fmt.Errorf("records: parse log: energy %q: %w", m[4], err)
		}
		if c.Grams, err = strconv.ParseFloat(strings.TrimSpace(m[5]), 64); err != nil {
			return fmt.Errorf("records: parse log: CO2eq %q: %w", m[5], err)
		}
		if m[6] != "" {
			c.Equivalents = map[string]float64{}
			for _, line := range strings.Split(m[6], "\n") {
				num, unit, ok := strings.Cut(strings.TrimSpace(line), " ")
				if !ok {
					continue
				}
				if v, err := strconv.ParseFloat(num, 64); err == nil {
					c.Equivalents[strings.TrimSpace(unit)] = v
				}
			}
		}
		switch {
		case strings.EqualFold(m[1], "actual"):
			if l.Actual == nil {
				l.Actual = c
			}
		case strings.EqualFold(m[1], "measured"):
			if l.Run == nil {
				l.Run = c
			}
		case l.Predicted == nil:
			l.Predicted = c
		}
	}
	return nil
}

func hms(h, m, s string) (float64, error) {
	hv, err1 := strconv.ParseFloat(h, 64)
	mv, err2 := strconv.ParseFloat(m, 64)
	sv, err3 := strconv.ParseFloat(s, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, fmt.Errorf("records: parse log: bad duration %s:%s:%s", h, m, s)
	}
	return hv*3600 + mv*60 + sv, nil
}
