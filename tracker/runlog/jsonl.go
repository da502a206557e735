package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// record is any line of the tracker's JSON lines; Type says which fields
// are set ("epoch", "projection", "final").
type record struct {
	Type              string    `json:"type"`
	Epoch             int       `json:"epoch"`
	Start             time.Time `json:"start"`
	End               time.Time `json:"end"`
	DurationS         float64   `json:"duration_s"`
	FacilityEnergyKWh float64   `json:"facility_energy_kwh"`
	GPUEnergyKWh      float64   `json:"gpu_energy_kwh"`
	CPUEnergyKWh      float64   `json:"cpu_energy_kwh"`
	DRAMEnergyKWh     float64   `json:"dram_energy_kwh"`
	EmissionsG        float64   `json:"emissions_g"`
	PUE               float64   `json:"pue"`
	Interrupted       bool      `json:"interrupted"`
	Devices           []struct {
		Kind      string  `json:"kind"`
		EnergyKWh float64 `json:"energy_kwh"`
	} `json:"devices"`
	Epochs          int `json:"epochs"`
	CompletedEpochs int `json:"completed_epochs"`
	// RunEnergyKWh is in the final record (nil in one written before it
	// was).
	RunEnergyKWh *float64 `json:"run_energy_kwh"`
	// The final record's actual consumption, completed epochs only, as in
	// carbontracker's Actual block (nil in records written before it was).
	ActualDurationS         *float64 `json:"actual_duration_s"`
	ActualFacilityEnergyKWh *float64 `json:"actual_facility_energy_kwh"`
	ActualEmissionsG        *float64 `json:"actual_emissions_g"`
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

func readJSONLines(path string, r *Run) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("runlog: %w", err)
	}
	defer f.Close()
	r.Format = FormatCarbontrack
	var final *record
	kinds := map[string]bool{}
	err = eachLine(f, func(n int, line []byte) error {
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		switch rec.Type {
		case "epoch":
			e := Epoch{N: rec.Epoch, Start: rec.Start, End: rec.End,
				Duration: seconds(rec.DurationS), KWh: rec.FacilityEnergyKWh, Grams: rec.EmissionsG,
				Interrupted: rec.Interrupted, Watts: map[string]float64{}}
			for kind, kwh := range map[string]float64{"gpu": rec.GPUEnergyKWh, "cpu": rec.CPUEnergyKWh, "dram": rec.DRAMEnergyKWh} {
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
			// The latest projection wins (there is one per run today).
			r.Projection = &Consumption{Epochs: rec.Epochs, Duration: seconds(rec.DurationS),
				KWh: rec.FacilityEnergyKWh, Grams: rec.EmissionsG}
			r.Epochs = rec.Epochs
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
	if len(r.EpochRecords) > 0 {
		r.Start = r.EpochRecords[0].Start
	}
	if final != nil {
		r.Finished = true
		r.Epochs = final.Epochs
		r.Completed = final.CompletedEpochs
		r.Interrupted = final.Interrupted
		if final.PUE > 0 {
			r.PUE = final.PUE
		}
		r.Actual = &Consumption{Epochs: final.CompletedEpochs, Duration: seconds(final.DurationS),
			KWh: final.FacilityEnergyKWh, Grams: final.EmissionsG}
		if final.ActualDurationS != nil && final.ActualFacilityEnergyKWh != nil && final.ActualEmissionsG != nil {
			// Without an epoch cut short by Stop, as the output log's block.
			r.Actual.Duration = seconds(*final.ActualDurationS)
			r.Actual.KWh, r.Actual.Grams = *final.ActualFacilityEnergyKWh, *final.ActualEmissionsG
		}
		if final.RunEnergyKWh != nil {
			r.RunEnergyKWh, r.HasRunEnergy = *final.RunEnergyKWh, true
		}
	}
	for _, e := range r.EpochRecords {
		for k := range e.Watts {
			kinds[k] = true
		}
	}
	r.Components = kindOrder(kinds)
	offsets(r)
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
