package tracker

import (
	"math"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// minPowerPoint is the shortest interval of a point of the power series
// (1 s): reads of every source closer than that to the point's start are
// merged into it, which bounds the file to one line per second of the run.
const minPowerPoint = time.Second

// WithPowerSeries writes the power series beside the other logs (default
// off; it needs WithLogDir): <prefix_><pid>.<id>_<time>_carbontrack_power.jsonl,
// each line the devices' average power by kind (before PUE) over the
// interval that ends at its time:
//
//	{"type":"power","time":"2025-03-01T12:00:10Z","interval_s":10,"power_w":{"cpu":41.2,"gpu":250}}
//
// Its resolution follows the reads: a point ends at each read of every
// device (each EpochStart and EpochEnd, the background reads, Stop), so
// epoch boundaries are points and the energies are exact. Devices read
// more often between (power-only GPUs, every WithPowerInterval) are merged
// into the point, which then also gives the lowest and highest power read
// by kind ("min_power_w", "max_power_w", left out where they are equal to
// a part in 10^9). No point is shorter than 1 s (faster reads are merged;
// the rest at Stop joins the last point), unless the whole run is, so the
// file has at most one line per second of the run: 144 bytes with two
// kinds and no range, 260 to 276 with their ranges (on "carbontrack run"
// logs), so at most about 1 MB an hour; with energy counters and no
// power-only device, one line per
// background read (WithInterval, at most the checkpoint interval) and one
// per epoch boundary. The lines are written at each checkpoint (but the
// latest point, which waits for the next) and at Stop. The series' energy is the run's device energy (Report.Sources).
//
// It is the series "carbontrack run" writes, the same file and records
// (records.Power), which tracker/runlog reads (runlog.ReadPower, Run.Power).
// It is off by default because a tracker in a program that writes its own
// power series (through runlog.PowerLog) would write the same file.
func WithPowerSeries(on bool) Option { return func(o *options) { o.powerSeries = on } }

// seriesAcc builds the power series on the sampler's goroutine, under the
// tracker's lock, without allocating in steady state: each tick adds its
// energies to the open point (by kind) and its power readings to the
// point's range; a tick that read every source not lost closes the point
// when it is at least minPowerPoint long. The writer takes the closed
// points (take), but the last, and at Stop the rest (closeRest).
type seriesAcc struct {
	kinds  []string // the kinds, in the order the sources first give them
	kindOf []int    // source i's kind, an index into kinds
	from   time.Duration
	// The open point, by kind: energy, lowest and highest power read,
	// readings; fresh marks the kinds whose power this tick read.
	e      []power.Joules
	lo, hi []power.Watts
	n      []int
	fresh  []bool
	// The closed points not taken yet, and their values: seriesVals per
	// kind per point; done once closeRest ended the series.
	pts  []seriesPoint
	vals []float64
	done bool
}

// seriesPoint is a closed point of the power series, since the tracker's
// start.
type seriesPoint struct{ from, to time.Duration }

// seriesVals are the values of a point per kind: energy (J), lowest and
// highest power (W) and the number of power readings.
const seriesVals = 4

func newSeriesAcc(infos []power.Info) *seriesAcc {
	a := &seriesAcc{kindOf: make([]int, len(infos))}
	for i, info := range infos {
		k := -1
		for j, name := range a.kinds {
			if name == string(info.Kind) {
				k = j
			}
		}
		if k < 0 {
			k = len(a.kinds)
			a.kinds = append(a.kinds, string(info.Kind))
		}
		a.kindOf[i] = k
	}
	nk := len(a.kinds)
	a.e, a.lo, a.hi, a.n, a.fresh = make([]power.Joules, nk), make([]power.Watts, nk), make([]power.Watts, nk),
		make([]int, nk), make([]bool, nk)
	return a
}

// add counts tk in the open point: since is tk's time since the tracker's
// start, fresh[i] says that source i's power pow[i] is over an interval
// that tk's read ended. It closes the point when tk read every source not
// lost and the point is long enough.
func (a *seriesAcc) add(tk *sampler.Tick, since time.Duration, pow []power.Watts, fresh []bool) {
	whole, any := true, false
	clear(a.fresh)
	for i, d := range tk.Delta {
		if !tk.Read[i] {
			whole = whole && tk.Lost[i]
			continue
		}
		any = true
		k := a.kindOf[i]
		a.e[k] += d
		if fresh[i] {
			a.fresh[k] = true
		}
	}
	for k, ok := range a.fresh {
		if !ok {
			continue
		}
		var w power.Watts
		for i, pk := range a.kindOf {
			if pk == k {
				w += pow[i]
			}
		}
		if a.n[k] == 0 || w < a.lo[k] {
			a.lo[k] = w
		}
		if a.n[k] == 0 || w > a.hi[k] {
			a.hi[k] = w
		}
		a.n[k]++
	}
	if whole && any && since-a.from >= minPowerPoint {
		a.close(since)
	}
}

// close ends the open point at to.
func (a *seriesAcc) close(to time.Duration) {
	a.pts = append(a.pts, seriesPoint{from: a.from, to: to})
	for k := range a.kinds {
		a.vals = append(a.vals, float64(a.e[k]), float64(a.lo[k]), float64(a.hi[k]), float64(a.n[k]))
	}
	a.from = to
	clear(a.e)
	clear(a.n)
}

// closeRest ends the open point at to, the latest read, when it is not
// empty (Stop: no read will come). A rest shorter than minPowerPoint (the
// read at Stop right after the one that closed a point) is merged into the
// last point, which take kept back for that.
func (a *seriesAcc) closeRest(to time.Duration) {
	a.done = true
	if to <= a.from {
		return
	}
	if n := len(a.pts); n > 0 && to-a.from < minPowerPoint {
		a.pts[n-1].to = to
		v := a.vals[(n-1)*len(a.kinds)*seriesVals:]
		for k := range a.kinds {
			p := v[k*seriesVals:]
			p[0] += float64(a.e[k])
			if a.n[k] > 0 {
				if p[3] == 0 || float64(a.lo[k]) < p[1] {
					p[1] = float64(a.lo[k])
				}
				if p[3] == 0 || float64(a.hi[k]) > p[2] {
					p[2] = float64(a.hi[k])
				}
				p[3] += float64(a.n[k])
			}
		}
		a.from = to
		clear(a.e)
		clear(a.n)
		return
	}
	a.close(to)
}

// take appends the closed points and their values to pts and vals, forgets
// them, and returns the slices. Until closeRest, it keeps the last closed
// point back, for a short rest at Stop to join.
func (a *seriesAcc) take(pts []seriesPoint, vals []float64) ([]seriesPoint, []float64) {
	n := len(a.pts)
	if !a.done {
		n = max(n-1, 0)
	}
	m := n * len(a.kinds) * seriesVals
	pts, vals = append(pts, a.pts[:n]...), append(vals, a.vals[:m]...)
	a.pts, a.vals = append(a.pts[:0], a.pts[n:]...), append(a.vals[:0], a.vals[m:]...)
	return pts, vals
}

// powerSink writes the power series (WithPowerSeries): the points the
// tracker's ticks closed (seriesAcc), as the writer takes them.
type powerSink struct {
	jsonLines
}

func newPowerSink(t *Tracker, base string) (opened, error) {
	if !t.opts.powerSeries {
		return opened{}, nil
	}
	f, err := openLog(base + records.SuffixPower)
	if err != nil {
		return opened{}, err
	}
	s := &powerSink{jsonLines: newJSONLines(t, f)}
	// The checkpoints wake the writer, which takes the points then.
	return opened{sink: s, files: []string{f.Name()}, checkpoints: true}, nil
}

func (s *powerSink) handle(ev *event) {
	if ev.kind != evPower || s.t.series == nil {
		return
	}
	kinds := s.t.series.kinds
	nk := len(kinds)
	for j, p := range ev.pts {
		dt := (p.to - p.from).Seconds()
		rec := records.Power{Type: records.TypePower, Time: s.t.start.Add(p.to), IntervalS: dt,
			PowerW: make(map[string]float64, nk)}
		for k, kind := range kinds {
			v := ev.vals[(j*nk+k)*seriesVals:]
			w := max(v[0], 0) / dt
			rec.PowerW[kind] = w
			// The range holds the mean (a first reading may not).
			// A range narrower than rounding (a constant power read
			// twice) is no range.
			if lo, hi := min(v[1], w), max(v[2], w); v[3] > 1 && hi-lo > 1e-9*hi && !math.IsNaN(lo+hi) {
				if rec.MinPowerW == nil {
					rec.MinPowerW, rec.MaxPowerW = map[string]float64{}, map[string]float64{}
				}
				rec.MinPowerW[kind], rec.MaxPowerW[kind] = lo, hi
			}
		}
		if !s.write(rec) {
			return
		}
	}
}
