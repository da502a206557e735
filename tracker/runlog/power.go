package runlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/carbontrack/carbontrack/tracker/records"
)

// PowerLog writes a power series, one JSON line per point (records.Power):
//
//	{"type":"power","time":"2025-03-01T12:00:05Z","interval_s":5,"power_w":{"cpu":41.2,"dram":3.1}}
//
// (the average power of the devices, before PUE, by component, over the
// interval that ends at time). A tracker writes the same series itself
// with tracker.WithPowerSeries. Each line is written with one write call, so
// a killed writer leaves whole lines. A PowerLog is not safe for concurrent
// use; its zero value is not usable: use CreatePowerLog.
type PowerLog struct {
	f   *os.File
	err error
}

// CreatePowerLog creates (or truncates) the power series at path, which
// should end in SuffixPower beside the tracker's logs.
func CreatePowerLog(path string) (*PowerLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runlog: power log: %w", err)
	}
	return &PowerLog{f: f}, nil
}

// Add writes a point. After a failed write, Add does nothing and returns
// the first error.
func (l *PowerLog) Add(p PowerPoint) error {
	if l.err != nil {
		return l.err
	}
	b, err := json.Marshal(records.Power{Type: records.TypePower, Time: p.Time, IntervalS: p.Interval.Seconds(), PowerW: p.Watts,
		MinPowerW: p.Min, MaxPowerW: p.Max})
	if err == nil {
		_, err = l.f.Write(append(b, '\n'))
	}
	if err != nil {
		l.err = fmt.Errorf("runlog: power log: %w", err)
	}
	return l.err
}

// Close syncs and closes the file, and returns the first error of Add,
// Sync or Close.
func (l *PowerLog) Close() error {
	err := errors.Join(l.f.Sync(), l.f.Close())
	if l.err != nil {
		return l.err
	}
	if err != nil {
		return fmt.Errorf("runlog: power log: %w", err)
	}
	return nil
}

// ReadPower reads a power series written by PowerLog or by a tracker
// (tracker.WithPowerSeries).
func ReadPower(path string) ([]PowerPoint, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var pts []PowerPoint
	err = eachLine(bytes.NewReader(data), func(n int, line []byte) error {
		var rec records.Power
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if rec.Type == records.TypePower {
			if !(rec.IntervalS >= 0 && rec.IntervalS <= maxSeconds) {
				return fmt.Errorf("line %d: interval_s %v out of range", n, rec.IntervalS)
			}
			for name, m := range map[string]map[string]float64{"power_w": rec.PowerW, "min_power_w": rec.MinPowerW, "max_power_w": rec.MaxPowerW} {
				for k, w := range m {
					if !(w >= 0) || math.IsInf(w, 0) {
						return fmt.Errorf("line %d: %s %s %v: not a power in W", n, name, k, w)
					}
				}
			}
			pts = append(pts, PowerPoint{Time: rec.Time, Interval: seconds(rec.IntervalS), Watts: rec.PowerW,
				Min: rec.MinPowerW, Max: rec.MaxPowerW})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("runlog: %s: %w", path, err)
	}
	return pts, nil
}

// Downsample merges consecutive points of a power series into at most n
// points (n >= 1), for a chart or a bounded file: each merged point ends
// when its last point ends, starts when its first starts, and gives by
// component
// the mean power over them (weighted by interval: the energy is kept) and
// the lowest and highest power of the points merged (their Min and Max
// where they have them). A series of n points or fewer is returned as is.
func Downsample(pts []PowerPoint, n int) []PowerPoint {
	if n < 1 || len(pts) <= n {
		return pts
	}
	out := make([]PowerPoint, 0, n)
	for b := 0; b < n; b++ {
		lo, hi := b*len(pts)/n, (b+1)*len(pts)/n
		out = append(out, merge(pts[lo:hi]))
	}
	return out
}

// merge merges consecutive points into one (see Downsample).
func merge(pts []PowerPoint) PowerPoint {
	last := pts[len(pts)-1]
	m := PowerPoint{Time: last.Time, Watts: map[string]float64{}, Min: map[string]float64{}, Max: map[string]float64{}}
	// The merged point spans from the first point's start to the last's
	// end, gaps included (its mean power is then over the span: the energy
	// stays where it was drawn).
	if span := last.Time.Sub(pts[0].Time.Add(-pts[0].Interval)); span > 0 {
		m.Interval = span
	}
	var sum time.Duration
	joules := map[string]float64{}
	for _, p := range pts {
		sum += p.Interval
		for k, w := range p.Watts {
			joules[k] += w * p.Interval.Seconds()
			lo, hi := w, w
			if v, ok := p.Min[k]; ok {
				lo = v
			}
			if v, ok := p.Max[k]; ok {
				hi = v
			}
			if v, ok := m.Min[k]; !ok || lo < v {
				m.Min[k] = lo
			}
			if v, ok := m.Max[k]; !ok || hi > v {
				m.Max[k] = hi
			}
		}
	}
	if m.Interval < sum {
		m.Interval = sum // points out of order or overlapping: their time
	}
	for k, j := range joules {
		if s := m.Interval.Seconds(); s > 0 {
			m.Watts[k] = j / s
		} else {
			m.Watts[k] = (m.Min[k] + m.Max[k]) / 2
		}
	}
	return m
}
