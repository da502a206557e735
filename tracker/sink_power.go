package tracker

import (
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// WithPowerSeries writes the power series beside the other logs (default
// off; it needs WithLogDir): <prefix_><pid>.<id>_<time>_carbontrack_power.jsonl,
// one line per checkpoint interval (WithCheckpointInterval, 10 s) and a
// last one at Stop, each the devices' average power by kind (before PUE)
// since the line before:
//
//	{"type":"power","time":"2025-03-01T12:00:10Z","interval_s":10,"power_w":{"cpu":41.2,"gpu":250}}
//
// It is the series "carbontrack run" writes, the same file and records
// (records.Power), which tracker/runlog reads (runlog.ReadPower, Run.Power).
// It is off by default because a tracker in a program that writes its own
// power series (the CLI, through runlog.PowerLog) would write the same
// file.
func WithPowerSeries(on bool) Option { return func(o *options) { o.powerSeries = on } }

// powerSink writes the power series (WithPowerSeries): at each checkpoint
// and at Stop, the devices' energy by kind since the previous line over
// the time between their samples, from the tracker's own per-device
// energies (Status's), as "carbontrack run" computes it.
type powerSink struct {
	jsonLines
	last  time.Time // the latest sample written; zero: from the start
	lastE map[string]power.Joules
}

func newPowerSink(t *Tracker, base string) (opened, error) {
	if !t.opts.powerSeries {
		return opened{}, nil
	}
	f, err := openLog(base + records.SuffixPower)
	if err != nil {
		return opened{}, err
	}
	s := &powerSink{jsonLines: newJSONLines(t, f), lastE: map[string]power.Joules{}}
	return opened{sink: s, files: []string{f.Name()}, checkpoints: true}, nil
}

func (s *powerSink) handle(ev *event) {
	if ev.kind == evCheckpoint || ev.kind == evFinal {
		s.sample(ev.tick, ev.report.Sources)
	}
}

// sample writes the average power by kind from the previous sample (the
// start, the first time) to the one taken at at, when time has passed.
func (s *powerSink) sample(at time.Time, sources []SourceReport) {
	from := s.last
	if from.IsZero() {
		from = s.t.start
	}
	dt := at.Sub(from)
	if at.IsZero() || dt <= 0 {
		return
	}
	e := map[string]power.Joules{}
	for _, src := range sources {
		e[string(src.Info.Kind)] += src.DeviceEnergy
	}
	w := make(map[string]float64, len(e))
	for k, v := range e {
		w[k] = float64(max(v-s.lastE[k], 0)) / dt.Seconds()
	}
	if !s.write(records.Power{Type: records.TypePower, Time: at, IntervalS: dt.Seconds(), PowerW: w}) {
		return
	}
	s.last, s.lastE = at, e
}
