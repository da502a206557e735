package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/tracker/records"
)

// The tracker's JSON lines are read through tracker/records' types, with
// device energies as pointers (nil: the line lacks them), beside the names
// of older logs: energy_kwh and <kind>_energy_kwh were device energies; the
// final record's run_energy_kwh the whole run's device energy, and
// actual_* the completed epochs' consumption.

// totals are a record's time, energies and emissions, as read.
type totals = records.Totals[*float64]

// oldTotals are the older logs' names of the device energies.
type oldTotals struct {
	OldEnergyKWh     *float64 `json:"energy_kwh"`
	OldGPUEnergyKWh  *float64 `json:"gpu_energy_kwh"`
	OldCPUEnergyKWh  *float64 `json:"cpu_energy_kwh"`
	OldDRAMEnergyKWh *float64 `json:"dram_energy_kwh"`
}

// epochLine is an epoch record, as read.
type epochLine struct {
	records.Epoch[*float64]
	oldTotals
}

// checkpointLine is a checkpoint, as read.
type checkpointLine struct {
	records.Checkpoint[*float64]
	oldTotals
}

// finalLine is the final record, as read; an older one has no parts, and
// the whole run's device energy and the completed epochs' consumption
// under their own names.
type finalLine struct {
	records.Final[*float64]
	oldTotals
	RunEnergyKWh            *float64 `json:"run_energy_kwh"`
	ActualDurationS         *float64 `json:"actual_duration_s"`
	ActualFacilityEnergyKWh *float64 `json:"actual_facility_energy_kwh"`
	ActualEmissionsG        *float64 `json:"actual_emissions_g"`
}

// device returns the device energy in kWh, under its name or under the
// older one, and whether there is one.
func device(t *totals, old *oldTotals) (float64, bool) {
	if v := first(t.DeviceEnergyKWh, old.OldEnergyKWh); v != nil {
		return *v, true
	}
	return 0, false
}

// byKind returns the device energy by kind in kWh, under the names of
// either version; kinds absent are left out.
func byKind(t *totals, old *oldTotals) map[string]float64 {
	out := map[string]float64{}
	for kind, v := range map[string]*float64{
		"gpu":  first(t.GPUEnergyKWh, old.OldGPUEnergyKWh),
		"cpu":  first(t.CPUEnergyKWh, old.OldCPUEnergyKWh),
		"dram": first(t.DRAMEnergyKWh, old.OldDRAMEnergyKWh),
	} {
		if v != nil {
			out[kind] = *v
		}
	}
	return out
}

func first(vs ...*float64) *float64 {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// consumption converts totals of epochs epochs.
func consumption(t *totals, epochs int) Consumption {
	c := Consumption{Epochs: epochs, Duration: seconds(t.DurationS), FacilityKWh: t.FacilityEnergyKWh, Grams: t.EmissionsG}
	if t.DeviceEnergyKWh != nil {
		c.DeviceKWh, c.DeviceKnown = *t.DeviceEnergyKWh, true
	}
	return c
}

// checkTotals refuses what the tracker cannot have written: a negative
// duration, energy or emissions, or a duration past a time.Duration. Parts
// that are nil are absent.
func checkTotals(ts ...*totals) error {
	for _, t := range ts {
		if t == nil {
			continue
		}
		vals := []struct {
			what string
			v    *float64
		}{{"duration_s", &t.DurationS}, {"device_energy_kwh", t.DeviceEnergyKWh}, {"facility_energy_kwh", &t.FacilityEnergyKWh},
			{"gpu_device_energy_kwh", t.GPUEnergyKWh}, {"cpu_device_energy_kwh", t.CPUEnergyKWh},
			{"dram_device_energy_kwh", t.DRAMEnergyKWh}, {"emissions_g", &t.EmissionsG}}
		for _, v := range vals {
			if v.v != nil && !(*v.v >= 0) {
				return fmt.Errorf("%s %v: not a non-negative number", v.what, *v.v)
			}
		}
		if !(t.DurationS <= maxSeconds) {
			return fmt.Errorf("duration_s %v out of range", t.DurationS)
		}
	}
	return nil
}

// checkOld refuses a negative value under an older name.
func checkOld(vs ...*float64) error {
	for _, v := range vs {
		if v != nil && !(*v >= 0) {
			return fmt.Errorf("%v: not a non-negative number", *v)
		}
	}
	return nil
}

func (o *oldTotals) check() error {
	return checkOld(o.OldEnergyKWh, o.OldGPUEnergyKWh, o.OldCPUEnergyKWh, o.OldDRAMEnergyKWh)
}

// checkEpochs refuses a negative or absurd count of epochs.
func checkEpochs(epochs, completed int) error {
	if epochs < 0 || completed < 0 {
		return fmt.Errorf("epochs %d, completed_epochs %d: negative", epochs, completed)
	}
	if epochs > maxEpoch || completed > maxEpoch {
		return fmt.Errorf("epochs %d, completed_epochs %d: out of range", epochs, completed)
	}
	return nil
}

// firstErr returns the first error that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *epochLine) check() error {
	var err error
	if l.Epoch.Epoch < 0 || l.Epoch.Epoch > maxEpoch {
		err = fmt.Errorf("epoch %d out of range", l.Epoch.Epoch)
	}
	return firstErr(err, checkTotals(&l.Totals), l.oldTotals.check())
}

func (l *checkpointLine) check() error {
	return firstErr(checkTotals(&l.Totals), l.oldTotals.check(), checkEpochs(l.Epochs, l.CompletedEpochs),
		checkAbout(&l.About, &l.Uncertainty))
}

// checkAbout refuses a negative intensity, PUE or emissions bound.
func checkAbout(a *records.About, u *records.Uncertainty) error {
	return checkOld(&a.IntensityGPerKWh, &a.PUE, &u.EmissionsLowG, &u.EmissionsHighG)
}

func checkProjection(p *records.Projection) error {
	return firstErr(checkTotals(&totals{DurationS: p.DurationS, FacilityEnergyKWh: p.FacilityEnergyKWh, EmissionsG: p.EmissionsG}),
		checkEpochs(p.Epochs, 0), checkOld(&p.EmissionsLowG, &p.EmissionsHighG))
}

func (l *finalLine) check() error {
	err := firstErr(checkTotals(&l.Totals, l.InEpochs, l.Actual, l.OutsideEpochs), l.oldTotals.check(),
		checkOld(l.RunEnergyKWh, l.ActualDurationS, l.ActualFacilityEnergyKWh, l.ActualEmissionsG),
		checkOld(&l.Work), checkAbout(&l.About, &l.Uncertainty))
	if err == nil && l.ActualDurationS != nil && !(*l.ActualDurationS <= maxSeconds) {
		err = fmt.Errorf("actual_duration_s %v out of range", *l.ActualDurationS)
	}
	return firstErr(err, checkEpochs(l.Epochs, l.CompletedEpochs))
}

// decode decodes line into v and checks it.
func decode[T any, P interface {
	*T
	check() error
}](line []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(line, v); err != nil {
		return nil, err
	}
	return v, P(v).check()
}

// jouleKWh is joules per kWh.
const jouleKWh = 3.6e6

// eachLine calls f with each complete line of r. A last line without its
// newline is ignored: the writer was stopped in the middle of it.
func eachLine(r io.Reader, f func(n int, line []byte) error) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := f(n, line); err != nil {
			return err
		}
	}
}

// cumulative is the run so far at a checkpoint or the final record: its
// offset from the start and its device energy by kind in kWh.
type cumulative struct {
	offset time.Duration
	kinds  map[string]float64
}

func readJSONLines(path string, r *Run) error {
	data, err := readFile(path)
	if err != nil {
		return err
	}
	return parseJSONLines(data, path, r)
}

// parseJSONLines reads the tracker's JSON lines from their contents; path
// is the file its errors and notes name.
func parseJSONLines(data []byte, path string, r *Run) error {
	r.Format = FormatCarbontrack
	var (
		final     *finalLine
		ckpt      *checkpointLine
		cums      []cumulative
		ckptStart time.Time
		// good counts the records read; bad are the lines skipped.
		good     int
		bad      []string
		firstBad error
	)
	kinds := map[string]bool{}
	err := eachLine(bytes.NewReader(data), func(n int, line []byte) error {
		err := readRecord(line, r, kinds, &final, &ckpt, &cums, &ckptStart)
		if err != nil {
			// A damaged line is skipped: the others are the run.
			bad = append(bad, fmt.Sprintf("%s:%d: %v", path, n, err))
			if good == 0 && len(bad) == 1 {
				firstBad = fmt.Errorf("runlog: %s: line %d: %w", path, n, err)
			}
			return nil
		}
		good++
		return nil
	})
	if err != nil {
		return fmt.Errorf("runlog: %s: %w", path, err)
	}
	if good == 0 {
		if firstBad != nil {
			return firstBad
		}
		return fmt.Errorf("runlog: %s: no record", path)
	}
	if len(bad) > 0 {
		const shown = 3
		note := fmt.Sprintf("%d unreadable line(s) of the JSON lines skipped: %s", len(bad), strings.Join(bad[:min(len(bad), shown)], "; "))
		if len(bad) > shown {
			note += "; …"
		}
		r.Note = joinNote(r.Note, note)
	}
	return finishJSONLines(r, final, ckpt, cums, ckptStart, kinds)
}

// readRecord reads one line of the JSON lines into r: an epoch, a
// projection, a checkpoint (the latest in ckpt, its cumulative totals added
// to cums) or the final record. Lines of other types are ignored.
func readRecord(line []byte, r *Run, kinds map[string]bool, final **finalLine, ckpt **checkpointLine, cums *[]cumulative, ckptStart *time.Time) error {
	{
		var head records.Head
		if err := json.Unmarshal(line, &head); err != nil {
			return err
		}
		var err error
		switch head.Type {
		case records.TypeEpoch:
			var rec *epochLine
			if rec, err = decode[epochLine](line); err == nil {
				r.readEpoch(rec, kinds)
			}
		case records.TypeProjection:
			var p records.Projection
			if err = json.Unmarshal(line, &p); err == nil {
				err = checkProjection(&p)
			}
			if err == nil {
				// The latest projection wins.
				r.Projection = &Consumption{Epochs: p.Epochs, Duration: seconds(p.DurationS),
					FacilityKWh: p.FacilityEnergyKWh, Grams: p.EmissionsG}
				r.ProjectionLowG, r.ProjectionHighG = p.EmissionsLowG, p.EmissionsHighG
				r.Epochs = p.Epochs
			}
		case records.TypeCheckpoint:
			var rec *checkpointLine
			if rec, err = decode[checkpointLine](line); err == nil {
				// The latest checkpoint wins: it is the run so far.
				*ckpt = rec
				if ckptStart.IsZero() && !rec.At.IsZero() {
					*ckptStart = rec.At.Add(-seconds(rec.DurationS))
				}
				*cums = append(*cums, cumulative{offset: seconds(rec.DurationS), kinds: byKind(&rec.Totals, &rec.oldTotals)})
			}
		case records.TypeFinal:
			var rec *finalLine
			if rec, err = decode[finalLine](line); err == nil {
				*final = rec
			}
		}
		if err != nil {
			return err
		}
		// Identity only from a record read.
		r.identify(&head.Who)
		return nil
	}
}

// finishJSONLines completes a run read from JSON lines.
func finishJSONLines(r *Run, final *finalLine, ckpt *checkpointLine, cums []cumulative, ckptStart time.Time, kinds map[string]bool) error {
	sort.SliceStable(r.EpochRecords, func(i, j int) bool { return r.EpochRecords[i].N < r.EpochRecords[j].N })
	for _, e := range r.EpochRecords {
		if !e.Interrupted {
			r.Completed++
		}
	}
	switch {
	case !ckptStart.IsZero():
		r.Start = ckptStart
	case len(r.EpochRecords) > 0:
		r.Start = r.EpochRecords[0].Start
	}
	switch {
	case final != nil:
		r.readFinal(final)
		if final.InEpochs != nil {
			cums = append(cums, cumulative{offset: seconds(final.DurationS), kinds: byKind(&final.Totals, &final.oldTotals)})
		}
	case ckpt != nil:
		// The run's end was not logged: the process was killed (or is
		// still running). The last checkpoint is the run so far.
		r.Completed = max(r.Completed, ckpt.CompletedEpochs)
		r.readAbout(&ckpt.About, &ckpt.Uncertainty)
		if r.Epochs == 0 {
			r.Epochs = ckpt.Epochs
		}
		w := consumption(&ckpt.Totals, r.Completed)
		r.Whole, r.CheckpointAt = &w, ckpt.At
		if r.CheckpointAt.IsZero() {
			r.CheckpointAt = r.Start.Add(w.Duration)
		}
	}
	for _, e := range r.EpochRecords {
		for k := range e.Watts {
			kinds[k] = true
		}
	}
	r.Power = checkpointPower(ckptStart, cums, kinds)
	for k := range kindsOf(r.Power) {
		kinds[k] = true
	}
	r.Components = SortComponents(kinds)
	offsets(r)
	return nil
}

// readEpoch adds an epoch record; kinds collects its devices' kinds.
func (r *Run) readEpoch(rec *epochLine, kinds map[string]bool) {
	e := Epoch{N: rec.Epoch.Epoch, Start: rec.Start, End: rec.End, Duration: seconds(rec.DurationS),
		FacilityKWh: rec.FacilityEnergyKWh, Grams: rec.EmissionsG, Interrupted: rec.Interrupted, Watts: map[string]float64{}}
	e.DeviceKWh, _ = device(&rec.Totals, &rec.oldTotals)
	for kind, kwh := range byKind(&rec.Totals, &rec.oldTotals) {
		if kwh > 0 && rec.DurationS > 0 {
			e.Watts[kind] = kwh * jouleKWh / rec.DurationS
		}
	}
	for _, d := range rec.Devices {
		kinds[d.Kind] = true
		r.addDevice(d)
		if _, ok := e.Watts[d.Kind]; !ok && d.Kind != "" {
			e.Watts[d.Kind] = 0
		}
	}
	if rec.PUE > 0 {
		r.PUE = rec.PUE
	}
	r.EpochRecords = append(r.EpochRecords, e)
}

// addDevice adds a device of an epoch record the first time it is seen.
func (r *Run) addDevice(d records.Device) {
	for _, have := range r.Devices {
		if have.Name == d.Name && have.Kind == d.Kind {
			return
		}
	}
	r.Devices = append(r.Devices, Device{Name: d.Name, Kind: d.Kind, Model: d.Device, Method: d.Method, Uncertainty: d.Uncertainty})
}

// Whose says whose run r is, for people: "node n0, rank 1, job j7", each
// part where the log says it; "" when it says none.
func (r *Run) Whose() string {
	var parts []string
	if r.Node != "" {
		parts = append(parts, "node "+r.Node)
	}
	if r.Rank >= 0 {
		parts = append(parts, "rank "+strconv.Itoa(r.Rank))
	}
	if r.RunID != "" {
		parts = append(parts, "job "+r.RunID)
	}
	return strings.Join(parts, ", ")
}

// identify takes the run id, node and rank from the first record that has
// each. A negative rank is no rank.
func (r *Run) identify(who *records.Who) {
	if r.RunID == "" {
		r.RunID = who.RunID
	}
	if r.Node == "" {
		r.Node = who.Node
	}
	if r.Rank < 0 && who.Rank != nil && *who.Rank >= 0 {
		r.Rank = *who.Rank
	}
}

// readAbout takes what the final record or the last checkpoint says of
// the run; a checkpoint written before these fields says nothing.
func (r *Run) readAbout(a *records.About, u *records.Uncertainty) {
	r.Label, r.Scope = a.Label, a.Scope
	r.Intensity, r.Zone, r.ZoneFrom = a.IntensityGPerKWh, a.IntensityZone, a.IntensityZoneFrom
	r.IntensityProvider, r.IntensitySource = a.IntensityProvider, a.IntensitySource
	r.IntensityYear, r.IntensityFallback = a.IntensityYear, a.IntensityFallback
	r.EmissionsLowG, r.EmissionsHighG, r.EmissionsUncertainty = u.EmissionsLowG, u.EmissionsHighG, u.EmissionsUncertainty
	if a.PUE > 0 {
		r.PUE = a.PUE
	}
}

// readFinal reads the final record: the whole run and its parts, or, in
// an older log, the epochs' totals and the run's device energy.
func (r *Run) readFinal(final *finalLine) {
	r.Finished = true
	for _, e := range final.MeasuredElsewhere {
		r.MeasuredElsewhere = append(r.MeasuredElsewhere, Elsewhere{Name: e.Name, Kind: e.Kind, By: e.By})
	}
	r.SharingNote = final.SharingNote
	r.readAbout(&final.About, &final.Uncertainty)
	r.Work, r.WorkUnit = final.Work, final.WorkUnit
	r.Epochs = final.Epochs
	r.Completed = final.CompletedEpochs
	r.Interrupted = final.Interrupted
	if final.InEpochs != nil {
		// Top-level totals are the whole run; the parts split it.
		w := consumption(&final.Totals, final.CompletedEpochs)
		r.Whole = &w
		in := consumption(final.InEpochs, final.CompletedEpochs)
		r.InEpochs = &in
		if final.OutsideEpochs != nil {
			out := consumption(final.OutsideEpochs, 0)
			r.OutsideEpochs = &out
		}
		a := in
		if final.Actual != nil {
			a = consumption(final.Actual, final.CompletedEpochs)
		}
		r.Actual = &a
		return
	}
	// An older final record: its top-level totals are the epochs', an
	// interrupted epoch's part included.
	a := Consumption{Epochs: final.CompletedEpochs, Duration: seconds(final.DurationS),
		FacilityKWh: final.FacilityEnergyKWh, Grams: final.EmissionsG}
	a.DeviceKWh, a.DeviceKnown = device(&final.Totals, &final.oldTotals)
	if final.ActualDurationS != nil && final.ActualFacilityEnergyKWh != nil && final.ActualEmissionsG != nil {
		// Without an epoch cut short by Stop, as the output log's block.
		a.Duration = seconds(*final.ActualDurationS)
		a.FacilityKWh, a.Grams = *final.ActualFacilityEnergyKWh, *final.ActualEmissionsG
		// The device energy of the completed epochs, when all are logged.
		a.DeviceKWh, a.DeviceKnown = 0, false
		n := 0
		for _, e := range r.EpochRecords {
			if !e.Interrupted {
				n++
				a.DeviceKWh += e.DeviceKWh
			}
		}
		if n == final.CompletedEpochs {
			a.DeviceKnown = true
		} else {
			a.DeviceKWh = 0
		}
	}
	r.Actual = &a
	if final.RunEnergyKWh != nil {
		r.Note = fmt.Sprintf("an older carbontrack log: the whole run's device energy was %s kWh (before PUE), its emissions were not logged",
			strconv.FormatFloat(*final.RunEnergyKWh, 'g', 4, 64))
	}
}

// checkpointPower returns the devices' average power by kind between
// consecutive cumulative totals (the first from the start), for the kinds
// measured (those in kinds, or with energy).
func checkpointPower(start time.Time, cums []cumulative, kinds map[string]bool) []PowerPoint {
	if start.IsZero() || len(cums) == 0 {
		return nil
	}
	last := cums[len(cums)-1].kinds
	var pts []PowerPoint
	prev := cumulative{kinds: map[string]float64{}}
	for _, c := range cums {
		iv := c.offset - prev.offset
		if iv <= 0 {
			continue
		}
		w := map[string]float64{}
		for k, kwh := range c.kinds {
			if !kinds[k] && !(last[k] > 0) {
				continue
			}
			w[k] = math.Max(kwh-prev.kinds[k], 0) * jouleKWh / iv.Seconds()
		}
		pts = append(pts, PowerPoint{Time: start.Add(c.offset), Interval: iv, Watts: w})
		prev = c
	}
	return pts
}

func kindsOf(pts []PowerPoint) map[string]bool {
	out := map[string]bool{}
	for _, p := range pts {
		for k := range p.Watts {
			out[k] = true
		}
	}
	return out
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
