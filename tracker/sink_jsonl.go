package tracker

import (
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// jsonlSink writes the JSON lines (…_carbontrack.jsonl, WithJSONLines): a
// record per epoch, each projection, a checkpoint every checkpoint
// interval and a final record at Stop, each starting with whose run it is.
// The records are tracker/records', which tracker/runlog reads.
type jsonlSink struct {
	jsonLines
	who   records.Who
	whoOK bool // who is made, on the first record
}

func newJSONLSink(t *Tracker, base string) (opened, error) {
	if !t.opts.jsonl {
		return opened{}, nil
	}
	f, err := openLog(base + records.SuffixJSONLines)
	if err != nil {
		return opened{}, err
	}
	return opened{sink: &jsonlSink{jsonLines: newJSONLines(t, f)}, files: []string{f.Name()}, checkpoints: true}, nil
}

func (s *jsonlSink) handle(ev *event) {
	switch ev.kind {
	case evEpoch:
		s.write(s.epoch(ev.n, ev.rec, ev.dev))
	case evProjection:
		s.write(projectionRecord(s.head(records.TypeProjection), ev.proj))
	case evCheckpoint:
		s.write(records.Checkpoint[float64]{Head: s.head(records.TypeCheckpoint), At: ev.at.UTC(),
			Totals: totalsRecord(ev.report.Run), CompletedEpochs: ev.report.Completed, Epochs: ev.report.Epochs,
			About: aboutRecord(ev.report), Uncertainty: uncertaintyRecord(ev.report)})
	case evFinal:
		s.write(finalRecord(s.head(records.TypeFinal), ev.report))
	}
}

// head starts a record: whose run it is (the identity, made on the first
// record), and its type.
func (s *jsonlSink) head(typ string) records.Head {
	if !s.whoOK {
		s.who, s.whoOK = whoRecord(s.t.id), true
	}
	return records.Head{Who: s.who, Type: typ}
}

// whoRecord is the identity as the records say it: run_id and node when
// known, rank when known (>= 0).
func whoRecord(id Identity) records.Who {
	w := records.Who{RunID: id.RunID, Node: id.Node}
	if id.Rank >= 0 {
		r := id.Rank
		w.Rank = &r
	}
	return w
}

func (s *jsonlSink) write(v any) { s.jsonLines.write(v) }

func (s *jsonlSink) epoch(n int, r *epochRec, dev []power.Joules) records.Epoch[float64] {
	t := s.t
	j := records.Epoch[float64]{Head: s.head(records.TypeEpoch), Epoch: n, Start: t.start.Add(r.start), End: t.start.Add(r.end),
		Totals: records.Totals[float64]{DurationS: r.duration().Seconds(), DeviceEnergyKWh: r.energy.KWh(),
			FacilityEnergyKWh: r.energy.KWh() * t.opts.pue, GPUEnergyKWh: r.byKind.GPU.KWh(), CPUEnergyKWh: r.byKind.CPU.KWh(),
			DRAMEnergyKWh: r.byKind.DRAM.KWh(), EmissionsG: r.grams},
		PUE: t.opts.pue, Interrupted: r.interrupted, Work: r.work}
	if j.FacilityEnergyKWh > 0 {
		j.IntensityGPerKWh = r.grams / j.FacilityEnergyKWh
	}
	for i, info := range t.infos {
		j.Devices = append(j.Devices, records.Device{Name: info.Name, Kind: string(info.Kind), Device: info.Device,
			Method: string(info.Method), DeviceEnergyKWh: dev[i].KWh(), Uncertainty: info.Uncertainty})
	}
	return j
}

func projectionRecord(h records.Head, p Projection) records.Projection {
	return records.Projection{Head: h, Epochs: p.Epochs, KnownEpochs: p.Known, DurationS: p.Duration.Seconds(),
		FacilityEnergyKWh: p.FacilityEnergy.KWh(), EmissionsG: p.Grams, Trend: p.Trend, TrendEmissionsG: p.TrendGrams,
		TrendEnergyKWh: p.TrendFacilityEnergy.KWh(), EmissionsLowG: p.GramsLow, EmissionsHighG: p.GramsHigh}
}

func totalsRecord(t Totals) records.Totals[float64] {
	return records.Totals[float64]{DurationS: t.Duration.Seconds(), DeviceEnergyKWh: t.DeviceEnergy.KWh(),
		FacilityEnergyKWh: t.FacilityEnergy.KWh(), GPUEnergyKWh: t.ByKind.GPU.KWh(), CPUEnergyKWh: t.ByKind.CPU.KWh(),
		DRAMEnergyKWh: t.ByKind.DRAM.KWh(), EmissionsG: t.Grams}
}

func finalRecord(h records.Head, r *Report) records.Final[float64] {
	in, act, out := totalsRecord(r.InEpochs), totalsRecord(r.Actual), totalsRecord(r.OutsideEpochs)
	f := records.Final[float64]{Head: h, Totals: totalsRecord(r.Run), Epochs: r.Epochs, CompletedEpochs: r.Completed,
		Interrupted: r.Interrupted, InEpochs: &in, Actual: &act, OutsideEpochs: &out,
		About: aboutRecord(r), Uncertainty: uncertaintyRecord(r), CarKm: r.Run.Grams / GramsPerKmCar,
		Misuse: r.Misuse, Dropped: r.Dropped, BudgetExceeded: r.BudgetExceeded, StoppedByUser: r.StoppedByUser,
		StopTimeouts: r.StopTimeouts, SharingNote: r.SharingNote}
	if r.Work > 0 {
		f.Work, f.WorkUnit, f.WorkEpochs = r.Work, r.WorkUnit, r.WorkEpochs
		f.FacilityEnergyKWhPerMillionWork, f.EmissionsGPerMillionWork = r.FacilityKWhPerMillionWork(), r.GramsPerMillionWork()
	}
	for _, e := range r.Elsewhere {
		f.MeasuredElsewhere = append(f.MeasuredElsewhere, records.Elsewhere{Name: e.Source.Name, Kind: string(e.Source.Kind), By: e.By})
	}
	return f
}

// aboutRecord is what the final record and the checkpoints say of the run.
func aboutRecord(r *Report) records.About {
	return records.About{IntensityGPerKWh: float64(r.MeanIntensity), IntensityZone: r.Intensity.Zone,
		IntensityProvider: r.Intensity.Provider, IntensityFallback: r.Intensity.Fallback, IntensityZoneFrom: r.Location.From,
		IntensitySource: r.Intensity.Source, IntensityYear: r.Intensity.Year, Label: r.Label, Scope: r.Scope, PUE: r.PUE}
}

// uncertaintyRecord is the run's emissions interval, empty without
// estimated devices.
func uncertaintyRecord(r *Report) records.Uncertainty {
	if len(r.Interval.Estimated) == 0 {
		return records.Uncertainty{}
	}
	return records.Uncertainty{EmissionsLowG: r.Interval.Low, EmissionsHighG: r.Interval.High,
		EmissionsUncertainty: r.Interval.Note()}
}
