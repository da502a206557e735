package tracker

import (
	"slices"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
)

// What the tracker reports: the whole run, the parts that partition it, the
// epochs.

// FinalEmissionsReported returns the run's emissions in grams CO2e (PUE
// included): every source from New to Stop, in epochs or not (Report.Run);
// before Stop, those so far, up to the latest read.
func (t *Tracker) FinalEmissionsReported() float64 {
	t.awaitMarks(reportWait)
	t.mu.Lock()
	defer t.mu.Unlock()
	g, _ := t.totalsLocked()
	return g
}

// Projection returns the latest projection (remade at every epoch's end
// from WithEpochsBeforePred epochs on), and false before it is made.
func (t *Tracker) Projection() (Projection, bool) {
	t.awaitMarks(reportWait)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.proj, t.hasProj
}

// Report returns a copy of everything the tracker knows. The epochs are
// copied under the lock (two slice copies) and the Report built outside it,
// so that a long run's Report holds up EpochEnd for little.
func (t *Tracker) Report() Report {
	t.awaitMarks(reportWait)
	t.mu.Lock()
	r := t.summaryLocked()
	recs, devE := slices.Clone(t.recs), slices.Clone(t.devE)
	t.mu.Unlock()
	n := t.nsrc
	r.EpochRecords = make([]Epoch, len(recs))
	for i := range recs {
		rec := &recs[i]
		e := Epoch{N: i + 1, Start: t.start.Add(rec.start), End: t.start.Add(rec.end), Duration: rec.duration(),
			DeviceEnergy: rec.energy, ByKind: rec.byKind, FacilityEnergy: rec.energy * power.Joules(r.PUE),
			Grams: rec.grams, Interrupted: rec.interrupted, Work: rec.work, Devices: devE[i*n : (i+1)*n : (i+1)*n]}
		if fe := e.FacilityEnergy.KWh(); fe > 0 {
			e.Intensity = factor.GramsPerKWh(rec.grams / fe)
		}
		r.EpochRecords[i] = e
	}
	return r
}

// summaryLocked returns the Report without its EpochRecords, from running
// totals: it takes the same time however many epochs ran.
func (t *Tracker) summaryLocked() Report {
	pue := power.Joules(t.opts.pue)
	r := Report{
		Epochs: t.epochs, Completed: t.completed, Stopped: t.stopped || t.stopping, Start: t.start, PUE: t.opts.pue,
		Run: t.runLocked(),
		InEpochs: Totals{Duration: t.sumD, DeviceEnergy: t.sumE, ByKind: t.sumK, FacilityEnergy: t.sumE * pue,
			Grams: t.sumG},
		Actual: Totals{Duration: t.compD, DeviceEnergy: t.compE, ByKind: t.compK, FacilityEnergy: t.compE * pue,
			Grams: t.compG},
		Intensity: t.intens, Intensities: t.nIntens, IntensityErrors: t.nIErr, Location: t.loc,
		Identity: t.id, Label: t.opts.label, Scope: scopeOf(&t.opts), Elsewhere: slices.Clone(t.elsewhere), SharingNote: t.shareNote,
		Misuse: t.misuse, Dropped: t.dropped, WriteErrors: t.writeErrs, StopTimeouts: slices.Clone(t.timeouts),
		BudgetExceeded: t.budgetFired, StoppedByUser: t.userStop,
		Unavailable: slices.Clone(t.unavail),
		Files:       slices.Clone(t.files),
		Work:        t.work, WorkUnit: t.opts.workUnit, WorkEpochs: t.workN, WorkTotals: t.workT,
	}
	r.WorkTotals.FacilityEnergy = r.WorkTotals.DeviceEnergy * pue
	if n := len(t.recs); n > 0 {
		r.End = t.start.Add(t.recs[n-1].end)
	}
	r.Interrupted = t.interrupted || t.completed < len(t.recs) || (t.stopping && t.monitoring)
	r.OutsideEpochs = r.Run.sub(r.InEpochs)
	r.MeanIntensity = t.meanIntensityLocked(r.Run)
	for i, info := range t.infos {
		r.Sources = append(r.Sources, SourceReport{Info: info, DeviceEnergy: t.cumE[i], EpochsDeviceEnergy: t.devSum[i],
			Lost: t.lost[i], Err: t.lostErr[i]})
	}
	if t.hasProj {
		p := t.proj
		r.Projection = &p
	}
	r.Interval = emissionsInterval(r.Run.Grams, t.infos, t.cumG)
	r.Equivalents = Equivalents(r.Run.Grams)
	return r
}

// runLocked returns the whole run's totals: every source from New to the
// latest read (Stop's final read once stopped).
func (t *Tracker) runLocked() Totals {
	var r Totals
	end := t.lastTick
	if t.stopping && !t.stopAt.IsZero() {
		end = t.stopAt
	}
	if !t.start.IsZero() && end.After(t.start) {
		r.Duration = end.Sub(t.start)
	}
	for i, info := range t.infos {
		r.DeviceEnergy += t.cumE[i]
		r.ByKind.add(info.Kind, t.cumE[i])
		r.Grams += t.cumG[i]
	}
	r.FacilityEnergy = r.DeviceEnergy * power.Joules(t.opts.pue)
	return r
}

// meanIntensityLocked returns tot's grams over its facility energy; with
// no energy, the intensity in use (never a meaningless 0).
func (t *Tracker) meanIntensityLocked(tot Totals) factor.GramsPerKWh {
	if kwh := tot.FacilityEnergy.KWh(); kwh > 0 {
		return factor.GramsPerKWh(tot.Grams / kwh)
	}
	return t.curI
}

// actualTotals are the completed epochs' totals, which the "Actual
// consumption" block shows: as carbontracker, it leaves an interrupted
// epoch out.
type actualTotals struct {
	epochs   int
	duration time.Duration
	facility power.Joules // PUE included
	grams    float64
}

func (t *Tracker) actualLocked() actualTotals {
	return actualTotals{epochs: t.completed, duration: t.compD, facility: t.compE * power.Joules(t.opts.pue), grams: t.compG}
}

// cutLocked returns the epoch Stop cut short (the last), if any, and its
// number.
func (t *Tracker) cutLocked() (epochRec, int, bool) {
	if n := len(t.recs); n > 0 && t.recs[n-1].interrupted {
		return t.recs[n-1], n, true
	}
	return epochRec{}, 0, false
}
