package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"time"
)

// totalsRecord is the time, energies and emissions of a record of the
// tracker's JSON lines: an epoch, a checkpoint, the final record and its
// parts. Energies are device energies (before PUE) except
// facility_energy_kwh. Fields absent from older logs are nil.
type totalsRecord struct {
	DurationS         float64  `json:"duration_s"`
	DeviceEnergyKWh   *float64 `json:"device_energy_kwh"`
	FacilityEnergyKWh float64  `json:"facility_energy_kwh"`
	GPUDeviceKWh      *float64 `json:"gpu_device_energy_kwh"`
	CPUDeviceKWh      *float64 `json:"cpu_device_energy_kwh"`
	DRAMDeviceKWh     *float64 `json:"dram_device_energy_kwh"`
	EmissionsG        float64  `json:"emissions_g"`
}

// record is any line of the tracker's JSON lines; Type says which fields
// are set ("epoch", "projection", "checkpoint", "final").
type record struct {
	Type  string    `json:"type"`
	Epoch int       `json:"epoch"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// At is a checkpoint's time.
	At time.Time `json:"at"`
	totalsRecord
	PUE         float64 `json:"pue"`
	Interrupted bool    `json:"interrupted"`
	Devices     []struct {
		Kind string `json:"kind"`
	} `json:"devices"`
	Epochs          int `json:"epochs"`
	CompletedEpochs int `json:"completed_epochs"`
	// The final record's parts of the whole run (nil in the final record
	// of older logs, whose top-level totals were the epochs').
	InEpochs      *totalsRecord `json:"in_epochs"`
	Actual        *totalsRecord `json:"actual"`
	OutsideEpochs *totalsRecord `json:"outside_epochs"`

	// Whose run it is, on every record of today's logs; the final record's
	// devices counted by another tracker and its warning that devices may
	// be counted twice.
	RunID             string `json:"run_id"`
	Node              string `json:"node"`
	Rank              *int   `json:"rank"`
	MeasuredElsewhere []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		By   string `json:"by"`
	} `json:"measured_elsewhere"`
	SharingNote string `json:"sharing_note"`

	// Older logs' names: energy_kwh and <kind>_energy_kwh were device
	// energies; the final record's run_energy_kwh the whole run's device
	// energy, and actual_* the completed epochs' consumption.
	OldEnergyKWh            *float64 `json:"energy_kwh"`
	OldGPUEnergyKWh         *float64 `json:"gpu_energy_kwh"`
	OldCPUEnergyKWh         *float64 `json:"cpu_energy_kwh"`
	OldDRAMEnergyKWh        *float64 `json:"dram_energy_kwh"`
	RunEnergyKWh            *float64 `json:"run_energy_kwh"`
	ActualDurationS         *float64 `json:"actual_duration_s"`
	ActualFacilityEnergyKWh *float64 `json:"actual_facility_energy_kwh"`
	ActualEmissionsG        *float64 `json:"actual_emissions_g"`
}

// device returns the record's device energy in kWh, under its name or
// under the older one, and whether it has one.
func (r *record) device() (float64, bool) {
	if v := first(r.DeviceEnergyKWh, r.OldEnergyKWh); v != nil {
		return *v, true
	}
	return 0, false
}

// byKind returns the record's device energy by kind in kWh, under the
// names of either version; kinds absent are left out.
func (r *record) byKind() map[string]float64 {
	out := map[string]float64{}
	for kind, v := range map[string]*float64{
		"gpu":  first(r.GPUDeviceKWh, r.OldGPUEnergyKWh),
		"cpu":  first(r.CPUDeviceKWh, r.OldCPUEnergyKWh),
		"dram": first(r.DRAMDeviceKWh, r.OldDRAMEnergyKWh),
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
func (t *totalsRecord) consumption(epochs int) Consumption {
	c := Consumption{Epochs: epochs, Duration: seconds(t.DurationS), FacilityKWh: t.FacilityEnergyKWh, Grams: t.EmissionsG}
	if t.DeviceEnergyKWh != nil {
		c.DeviceKWh, c.DeviceKnown = *t.DeviceEnergyKWh, true
	}
	return c
}

// check refuses what the tracker cannot have written: a negative duration,
// energy or emissions, or a duration past a time.Duration.
func (t *totalsRecord) check() error {
	vals := []struct {
		what string
		v    *float64
	}{{"duration_s", &t.DurationS}, {"device_energy_kwh", t.DeviceEnergyKWh}, {"facility_energy_kwh", &t.FacilityEnergyKWh},
		{"gpu_device_energy_kwh", t.GPUDeviceKWh}, {"cpu_device_energy_kwh", t.CPUDeviceKWh},
		{"dram_device_energy_kwh", t.DRAMDeviceKWh}, {"emissions_g", &t.EmissionsG}}
	for _, v := range vals {
		if v.v != nil && !(*v.v >= 0) {
			return fmt.Errorf("%s %v: not a non-negative number", v.what, *v.v)
		}
	}
	if !(t.DurationS <= maxSeconds) {
		return fmt.Errorf("duration_s %v out of range", t.DurationS)
	}
	return nil
}

func (r *record) check() error {
	for _, t := range []*totalsRecord{&r.totalsRecord, r.InEpochs, r.Actual, r.OutsideEpochs} {
		if t == nil {
			continue
		}
		if err := t.check(); err != nil {
			return err
		}
	}
	for _, v := range []*float64{r.OldEnergyKWh, r.OldGPUEnergyKWh, r.OldCPUEnergyKWh, r.OldDRAMEnergyKWh,
		r.RunEnergyKWh, r.ActualDurationS, r.ActualFacilityEnergyKWh, r.ActualEmissionsG} {
		if v != nil && !(*v >= 0) {
			return fmt.Errorf("%v: not a non-negative number", *v)
		}
	}
	if r.ActualDurationS != nil && !(*r.ActualDurationS <= maxSeconds) {
		return fmt.Errorf("actual_duration_s %v out of range", *r.ActualDurationS)
	}
	if r.Epochs < 0 || r.CompletedEpochs < 0 {
		return fmt.Errorf("epochs %d, completed_epochs %d: negative", r.Epochs, r.CompletedEpochs)
	}
	return nil
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
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("runlog: %w", err)
	}
	defer f.Close()
	r.Format = FormatCarbontrack
	var final, ckpt *record
	var cums []cumulative
	var ckptStart time.Time
	kinds := map[string]bool{}
	err = eachLine(f, func(n int, line []byte) error {
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := rec.check(); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		r.identify(&rec)
		switch rec.Type {
		case "epoch":
			e := Epoch{N: rec.Epoch, Start: rec.Start, End: rec.End, Duration: seconds(rec.DurationS),
				FacilityKWh: rec.FacilityEnergyKWh, Grams: rec.EmissionsG, Interrupted: rec.Interrupted, Watts: map[string]float64{}}
			e.DeviceKWh, _ = rec.device()
			for kind, kwh := range rec.byKind() {
				if kwh > 0 && rec.DurationS > 0 {
					e.Watts[kind] = kwh * jouleKWh / rec.DurationS
				}
			}
			for _, d := range rec.Devices {
				kinds[d.Kind] = true
				if _, ok := e.Watts[d.Kind]; !ok && d.Kind != "" {
					e.Watts[d.Kind] = 0
				}
			}
			if rec.PUE > 0 {
				r.PUE = rec.PUE
			}
			r.EpochRecords = append(r.EpochRecords, e)
		case "projection":
			// The latest projection wins.
			r.Projection = &Consumption{Epochs: rec.Epochs, Duration: seconds(rec.DurationS),
				FacilityKWh: rec.FacilityEnergyKWh, Grams: rec.EmissionsG}
			r.Epochs = rec.Epochs
		case "checkpoint":
			// The latest checkpoint wins: it is the run so far.
			ckpt = &rec
			if ckptStart.IsZero() && !rec.At.IsZero() {
				ckptStart = rec.At.Add(-seconds(rec.DurationS))
			}
			cums = append(cums, cumulative{offset: seconds(rec.DurationS), kinds: rec.byKind()})
		case "final":
			final = &rec
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("runlog: %s: %w", path, err)
	}
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
			cums = append(cums, cumulative{offset: seconds(final.DurationS), kinds: final.byKind()})
		}
	case ckpt != nil:
		// The run's end was not logged: the process was killed (or is
		// still running). The last checkpoint is the run so far.
		r.Completed = max(r.Completed, ckpt.CompletedEpochs)
		w := ckpt.consumption(r.Completed)
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
	r.Components = kindOrder(kinds)
	offsets(r)
	return nil
}

// identify takes the run id, node and rank from the first record that has
// each. A negative rank is no rank.
func (r *Run) identify(rec *record) {
	if r.RunID == "" {
		r.RunID = rec.RunID
	}
	if r.Node == "" {
		r.Node = rec.Node
	}
	if r.Rank < 0 && rec.Rank != nil && *rec.Rank >= 0 {
		r.Rank = *rec.Rank
	}
}

// readFinal reads the final record: the whole run and its parts, or, in
// an older log, the epochs' totals and the run's device energy.
func (r *Run) readFinal(final *record) {
	r.Finished = true
	for _, e := range final.MeasuredElsewhere {
		r.MeasuredElsewhere = append(r.MeasuredElsewhere, Elsewhere{Name: e.Name, Kind: e.Kind, By: e.By})
	}
	r.SharingNote = final.SharingNote
	r.Epochs = final.Epochs
	r.Completed = final.CompletedEpochs
	r.Interrupted = final.Interrupted
	if final.PUE > 0 {
		r.PUE = final.PUE
	}
	if final.InEpochs != nil {
		// Top-level totals are the whole run; the parts split it.
		w := final.consumption(final.CompletedEpochs)
		r.Whole = &w
		in := final.InEpochs.consumption(final.CompletedEpochs)
		r.InEpochs = &in
		if final.OutsideEpochs != nil {
			out := final.OutsideEpochs.consumption(0)
			r.OutsideEpochs = &out
		}
		a := in
		if final.Actual != nil {
			a = final.Actual.consumption(final.CompletedEpochs)
		}
		r.Actual = &a
		return
	}
	// An older final record: its top-level totals are the epochs', an
	// interrupted epoch's part included.
	a := Consumption{Epochs: final.CompletedEpochs, Duration: seconds(final.DurationS),
		FacilityKWh: final.FacilityEnergyKWh, Grams: final.EmissionsG}
	a.DeviceKWh, a.DeviceKnown = final.device()
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
