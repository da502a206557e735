package tracker

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/power"
)

// Version is written into the logs.
const Version = "0.1.0"

type recKind int

const (
	recStart recKind = iota
	recEpoch
	recPred
	recActual
	recBudget
	recSay
	recFlush
	recFinal
)

// record is what the tracker hands the writer goroutine: a kind and what is
// needed to find the data (read under the tracker's lock).
type record struct {
	kind        recKind
	at          time.Time
	n           int
	interrupted bool
	msg         string
	budget      BudgetEvent
	done        chan struct{}
}

// writer owns the files; only its goroutine touches them.
type writer struct {
	t                *Tracker
	std, out         *os.File
	stdW, outW       lineWriter
	jsonl            *os.File
	csvPath          string
	stdPath, outPath string
	jsonlPath        string
}

// CSVHeader is CodeCarbon 3.x's emissions.csv header, in its order.
var CSVHeader = []string{"timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
	"emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy",
	"energy_consumed", "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider",
	"cloud_region", "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count",
	"gpu_model", "longitude", "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent",
	"gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue"}

// LogBaseName returns carbontracker's log base name
// "<prefix_><pid>.<id>_<YYYY-MM-DDTHHMMSSZ>"; the pair adds
// "_carbontracker.log" and "_carbontracker_output.log".
func LogBaseName(prefix string, pid, id int, at time.Time) string {
	if prefix != "" {
		prefix += "_"
	}
	return fmt.Sprintf("%s%d.%d_%s", prefix, pid, id, at.Format(logFileTimeLayout))
}

func newWriter(t *Tracker) (*writer, error) {
	o := &t.opts
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return nil, fmt.Errorf("tracker: log dir: %w", err)
	}
	base := filepath.Join(o.logDir, LogBaseName(o.logPrefix, os.Getpid(), newLogID(), o.now()))
	w := &writer{t: t, stdPath: base + "_carbontracker.log", outPath: base + "_carbontracker_output.log"}
	var err error
	open := func(p string) *os.File {
		if err != nil {
			return nil
		}
		var f *os.File
		f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		return f
	}
	w.std = open(w.stdPath)
	w.out = open(w.outPath)
	if o.jsonl {
		w.jsonlPath = base + "_carbontrack.jsonl"
		w.jsonl = open(w.jsonlPath)
	}
	if err != nil {
		w.close()
		return nil, fmt.Errorf("tracker: log files: %w", err)
	}
	if o.csv {
		w.csvPath = filepath.Join(o.logDir, "emissions.csv")
	}
	w.stdW.w, w.outW.w = bufio.NewWriter(w.std), bufio.NewWriter(w.out)
	return w, nil
}

func (w *writer) files() []string {
	var fs []string
	for _, p := range []string{w.stdPath, w.outPath, w.jsonlPath, w.csvPath} {
		if p != "" {
			fs = append(fs, p)
		}
	}
	return fs
}

func (w *writer) close() {
	for _, f := range []*os.File{w.std, w.out, w.jsonl} {
		if f != nil {
			_ = f.Close()
		}
	}
}

// run handles records until recFinal (or the channel closes), then closes
// the files.
func (w *writer) run(in <-chan record, done chan<- struct{}) {
	defer close(done)
	defer w.close()
	for r := range in {
		w.handle(r)
		if r.kind == recFinal {
			return
		}
	}
}

func (w *writer) handle(r record) {
	defer func() {
		if v := recover(); v != nil {
			w.t.logger.Error("tracker: writer panicked", "panic", fmt.Sprint(v))
		}
	}()
	t := w.t
	switch r.kind {
	case recFlush:
		close(r.done)
		return
	case recStart:
		comps := w.componentsLine()
		w.std0(r.at, "carbontrack version "+Version)
		w.std0(r.at, fmt.Sprintf("Only predicted and actual consumptions are multiplied by a PUE coefficient of %v.", t.opts.pue))
		w.std0(r.at, comps)
		w.output(r.at, comps)
		iv := t.Intensity()
		w.std0(r.at, "Carbon intensity: "+iv.String())
		w.std0(r.at, "Monitoring thread started.")
	case recEpoch:
		t.mu.Lock()
		rec, dev := t.recs[r.n-1], append([]power.Joules(nil), t.devE[(r.n-1)*t.nsrc:r.n*t.nsrc]...)
		t.mu.Unlock()
		if !rec.interrupted {
			dur := rec.end.Sub(rec.start).Seconds()
			w.std0(r.at, fmt.Sprintf("Epoch %d:", rec.n))
			w.std0(r.at, "Duration: "+timeString(dur, true))
			for _, k := range w.kinds() {
				var e power.Joules
				for i, info := range t.infos {
					if info.Kind == k {
						e += dev[i]
					}
				}
				w.std0(r.at, fmt.Sprintf("Average power usage (W) for %s: %s", k, plain(float64(e)/max(dur, 1e-9), t.opts.precision)))
			}
		}
		w.json(epochJSON(t, rec, dev))
	case recPred:
		p, _ := t.Projection()
		block := formatBlock(fmt.Sprintf("Predicted consumption for %d epoch(s):", p.Epochs), p.Duration,
			p.Energy.KWh(), p.Grams, Equivalents(p.Grams), t.opts.precision)
		w.output(r.at, block)
		iv := t.Intensity()
		msg := fmt.Sprintf("Carbon intensity used: %s; PUE %v.", iv.String(), t.opts.pue)
		if p.Trend {
			msg += fmt.Sprintf(" Trend over %d epochs: %s g; 95 %% interval %s to %s g.", p.Known,
				plain(p.TrendGrams, 2), plain(p.GramsLow, 2), plain(p.GramsHigh, 2))
		}
		w.output(r.at, msg)
		w.std0(r.at, msg)
		if advice := carbonAdvice(context.Background(), t.opts.provider, p, r.at); advice != "" {
			w.output(r.at, advice)
			w.std0(r.at, advice)
		}
		w.json(projJSON(p))
	case recActual:
		t.mu.Lock()
		rep := t.reportLocked()
		t.mu.Unlock()
		if r.interrupted {
			w.std0(r.at, fmt.Sprintf("Training was interrupted before all %d epochs were monitored.", t.monitor))
		}
		desc := fmt.Sprintf("Actual consumption for %d epoch(s):", rep.Completed)
		if t.predAt == 0 {
			desc = "Actual consumption:"
		}
		w.output(r.at, formatBlock(desc, rep.Duration, rep.FacilityEnergy.KWh(), rep.Grams, Equivalents(rep.Grams), t.opts.precision))
		w.output(r.at, fmt.Sprintf("Average carbon intensity during training was %s gCO2/kWh.", plain(float64(rep.MeanIntensity), 2)))
		w.std0(r.at, "Monitoring thread ended.")
		w.output(r.at, "Finished monitoring.")
	case recBudget:
		b := r.budget
		what := "Actual"
		if b.Projected {
			what = "Predicted"
		}
		w.output(r.at, fmt.Sprintf("%s consumption exceeds the budget: %s g, %s kWh (budget: %s g, %s kWh).", what,
			plain(b.Grams, 2), plain(b.KWh, 6), plain(b.BudgetGrams, 2), plain(b.BudgetKWh, 6)))
	case recSay:
		w.output(r.at, r.msg)
	case recFinal:
		t.mu.Lock()
		rep := t.reportLocked()
		t.mu.Unlock()
		w.json(finalJSON(rep))
		w.writeCSV(r.at, rep)
	}
	w.sync()
}

// kinds returns the components measured, in carbontracker's order.
func (w *writer) kinds() []power.Kind {
	var ks []power.Kind
	for _, k := range []power.Kind{power.KindGPU, power.KindCPU, power.KindDRAM} {
		for _, info := range w.t.infos {
			if info.Kind == k {
				ks = append(ks, k)
				break
			}
		}
	}
	return ks
}

// deviceName makes a device name safe for carbontracker's parser, which cuts
// at the first '.' and splits at ','.
func deviceName(s string) string {
	return strings.NewReplacer(".", "_", ",", ";", "\n", " ").Replace(s)
}

func (w *writer) componentsLine() string {
	parts := []string{"The following components were found:"}
	for _, k := range w.kinds() {
		var devs []string
		for _, info := range w.t.infos {
			if info.Kind == k {
				devs = append(devs, deviceName(info.Name))
			}
		}
		parts = append(parts, fmt.Sprintf("%s with device(s) %s.", strings.ToUpper(string(k)), strings.Join(devs, ", ")))
	}
	return strings.Join(parts, " ")
}

// std0 writes a line to the standard log.
func (w *writer) std0(at time.Time, msg string) {
	if w.std != nil {
		w.stdW.line(at, msg)
	}
}

// output writes a message to the output log and the console, with
// carbontracker's prefix.
func (w *writer) output(at time.Time, msg string) {
	if w.out != nil {
		w.outW.line(at, consolePrefix+msg)
	}
	o := &w.t.opts
	if o.verbose <= 0 {
		return
	}
	if !o.interpretable {
		if i := strings.Index(msg, "\n\tThis is equivalent to:"); i >= 0 {
			msg = msg[:i]
		}
	}
	if _, err := io.WriteString(o.console, consolePrefix+msg+"\n"); err != nil {
		w.fail(err)
	}
}

func (w *writer) json(v any) {
	if w.jsonl == nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		_, err = w.jsonl.Write(append(b, '\n'))
	}
	if err != nil {
		w.fail(err)
	}
}

func (w *writer) fail(err error) {
	w.t.mu.Lock()
	w.t.writeErrs++
	w.t.mu.Unlock()
	w.t.logger.Error("tracker: write failed", "err", err)
}

// sync flushes and syncs the files so that a killed process loses at most
// the open epoch.
func (w *writer) sync() {
	for _, p := range []struct {
		lw *lineWriter
		f  *os.File
	}{{&w.stdW, w.std}, {&w.outW, w.out}} {
		if p.f == nil {
			continue
		}
		if p.lw.err == nil {
			p.lw.err = p.lw.w.Flush()
		}
		if p.lw.err != nil {
			w.fail(p.lw.err)
			p.lw.err = nil
			p.lw.w.Reset(p.f)
		}
		_ = p.f.Sync()
	}
	if w.jsonl != nil {
		_ = w.jsonl.Sync()
	}
}

func (w *writer) writeCSV(at time.Time, rep Report) {
	if w.csvPath == "" {
		return
	}
	f, err := os.OpenFile(w.csvPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.fail(err)
		return
	}
	st, err := f.Stat()
	cw := csv.NewWriter(f)
	if err == nil && st.Size() == 0 {
		err = cw.Write(CSVHeader)
	}
	if err == nil {
		err = cw.Write(csvRow(w.t, at, rep))
	}
	cw.Flush()
	err = errors.Join(err, cw.Error(), f.Sync(), f.Close())
	if err != nil {
		w.fail(err)
	}
}

func f64(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// csvRow fills CodeCarbon 3.x's columns: emissions in kg, energies in kWh
// (energy_consumed with PUE, as the emissions), powers in W (mean over the
// epochs), duration in s; what does not apply is empty, as CodeCarbon leaves
// unknown values.
func csvRow(t *Tracker, at time.Time, rep Report) []string {
	dur := rep.Duration.Seconds()
	kg := rep.Grams / 1000
	rate := 0.0
	if dur > 0 {
		rate = kg / dur
	}
	pw := func(j power.Joules) string {
		if dur <= 0 {
			return "0"
		}
		return f64(float64(j) / dur)
	}
	var cpuModel, gpuModel []string
	gpus := 0
	for _, s := range rep.Sources {
		switch s.Info.Kind {
		case power.KindCPU:
			cpuModel = append(cpuModel, s.Info.Device)
		case power.KindGPU:
			gpus++
			gpuModel = append(gpuModel, s.Info.Device)
		}
	}
	mode := "machine"
	if t.opts.pid > 0 {
		mode = "process"
	}
	iso, country := "", ""
	if z := rep.Intensity.Zone; len(z) == 2 {
		iso = z
	}
	row := map[string]string{
		"timestamp": at.Format("2006-01-02T15:04:05"), "project_name": t.opts.project,
		"run_id": fmt.Sprintf("%d-%d", os.Getpid(), rep.Start.UnixNano()), "experiment_id": "",
		"duration": f64(dur), "emissions": f64(kg), "emissions_rate": f64(rate),
		"cpu_power": pw(rep.ByKind.CPU), "gpu_power": pw(rep.ByKind.GPU), "ram_power": pw(rep.ByKind.DRAM),
		"cpu_energy": f64(rep.ByKind.CPU.KWh()), "gpu_energy": f64(rep.ByKind.GPU.KWh()), "ram_energy": f64(rep.ByKind.DRAM.KWh()),
		"energy_consumed": f64(rep.FacilityEnergy.KWh()), "water_consumed": "0",
		"country_name": country, "country_iso_code": iso, "region": "", "cloud_provider": "", "cloud_region": "",
		"os": runtime.GOOS + "/" + runtime.GOARCH, "python_version": "", "codecarbon_version": "",
		"cpu_count": strconv.Itoa(runtime.NumCPU()), "cpu_model": strings.Join(cpuModel, "; "),
		"gpu_count": strconv.Itoa(gpus), "gpu_model": strings.Join(gpuModel, "; "),
		"longitude": "", "latitude": "", "ram_total_size": "", "tracking_mode": mode,
		"cpu_utilization_percent": "", "gpu_utilization_percent": "", "ram_utilization_percent": "", "ram_used_gb": "",
		"on_cloud": "N", "pue": f64(rep.PUE), "wue": "0",
	}
	if strings.Contains(rep.Intensity.Zone, ":") {
		prov, reg, _ := strings.Cut(rep.Intensity.Zone, ":")
		row["cloud_provider"], row["cloud_region"], row["on_cloud"] = prov, reg, "Y"
	}
	out := make([]string, len(CSVHeader))
	for i, h := range CSVHeader {
		out[i] = row[h]
	}
	return out
}

type deviceJSON struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Device    string  `json:"device"`
	Method    string  `json:"method"`
	EnergyKWh float64 `json:"energy_kwh"`
}

type epochRecordJSON struct {
	Type              string       `json:"type"`
	Epoch             int          `json:"epoch"`
	Start             time.Time    `json:"start"`
	End               time.Time    `json:"end"`
	DurationS         float64      `json:"duration_s"`
	EnergyKWh         float64      `json:"energy_kwh"`
	FacilityEnergyKWh float64      `json:"facility_energy_kwh"`
	GPUEnergyKWh      float64      `json:"gpu_energy_kwh"`
	CPUEnergyKWh      float64      `json:"cpu_energy_kwh"`
	DRAMEnergyKWh     float64      `json:"dram_energy_kwh"`
	EmissionsG        float64      `json:"emissions_g"`
	IntensityGPerKWh  float64      `json:"intensity_g_per_kwh"`
	PUE               float64      `json:"pue"`
	Interrupted       bool         `json:"interrupted"`
	Devices           []deviceJSON `json:"devices"`
}

func epochJSON(t *Tracker, r epochRec, dev []power.Joules) epochRecordJSON {
	j := epochRecordJSON{Type: "epoch", Epoch: r.n, Start: r.start, End: r.end, DurationS: r.end.Sub(r.start).Seconds(),
		EnergyKWh: r.energy.KWh(), FacilityEnergyKWh: r.energy.KWh() * t.opts.pue,
		GPUEnergyKWh: r.byKind.GPU.KWh(), CPUEnergyKWh: r.byKind.CPU.KWh(), DRAMEnergyKWh: r.byKind.DRAM.KWh(),
		EmissionsG: r.grams, PUE: t.opts.pue, Interrupted: r.interrupted}
	if j.FacilityEnergyKWh > 0 {
		j.IntensityGPerKWh = r.grams / j.FacilityEnergyKWh
	}
	for i, info := range t.infos {
		j.Devices = append(j.Devices, deviceJSON{Name: info.Name, Kind: string(info.Kind), Device: info.Device,
			Method: string(info.Method), EnergyKWh: dev[i].KWh()})
	}
	return j
}

type projectionJSON struct {
	Type              string  `json:"type"`
	Epochs            int     `json:"epochs"`
	KnownEpochs       int     `json:"known_epochs"`
	DurationS         float64 `json:"duration_s"`
	FacilityEnergyKWh float64 `json:"facility_energy_kwh"`
	EmissionsG        float64 `json:"emissions_g"`
	Trend             bool    `json:"trend"`
	TrendEmissionsG   float64 `json:"trend_emissions_g,omitempty"`
	TrendEnergyKWh    float64 `json:"trend_facility_energy_kwh,omitempty"`
	EmissionsLowG     float64 `json:"emissions_low_g"`
	EmissionsHighG    float64 `json:"emissions_high_g"`
}

func projJSON(p Projection) projectionJSON {
	return projectionJSON{Type: "projection", Epochs: p.Epochs, KnownEpochs: p.Known, DurationS: p.Duration.Seconds(),
		FacilityEnergyKWh: p.Energy.KWh(), EmissionsG: p.Grams, Trend: p.Trend, TrendEmissionsG: p.TrendGrams,
		TrendEnergyKWh: p.TrendEnergy.KWh(), EmissionsLowG: p.GramsLow, EmissionsHighG: p.GramsHigh}
}

type finalJSONRecord struct {
	Type              string  `json:"type"`
	Epochs            int     `json:"epochs"`
	CompletedEpochs   int     `json:"completed_epochs"`
	Interrupted       bool    `json:"interrupted"`
	DurationS         float64 `json:"duration_s"`
	EnergyKWh         float64 `json:"energy_kwh"`
	FacilityEnergyKWh float64 `json:"facility_energy_kwh"`
	RunEnergyKWh      float64 `json:"run_energy_kwh"`
	GPUEnergyKWh      float64 `json:"gpu_energy_kwh"`
	CPUEnergyKWh      float64 `json:"cpu_energy_kwh"`
	DRAMEnergyKWh     float64 `json:"dram_energy_kwh"`
	EmissionsG        float64 `json:"emissions_g"`
	IntensityGPerKWh  float64 `json:"intensity_g_per_kwh"`
	IntensityZone     string  `json:"intensity_zone"`
	IntensityProvider string  `json:"intensity_provider"`
	IntensityFallback string  `json:"intensity_fallback,omitempty"`
	PUE               float64 `json:"pue"`
	CarKm             float64 `json:"car_km"`
	Misuse            int     `json:"misuse"`
	Dropped           int     `json:"dropped_records"`
	BudgetExceeded    bool    `json:"budget_exceeded"`
	StoppedByUser     bool    `json:"stopped_by_user"`
}

func finalJSON(r Report) finalJSONRecord {
	return finalJSONRecord{Type: "final", Epochs: r.Epochs, CompletedEpochs: r.Completed, Interrupted: r.Interrupted,
		DurationS: r.Duration.Seconds(), EnergyKWh: r.Energy.KWh(), FacilityEnergyKWh: r.FacilityEnergy.KWh(),
		RunEnergyKWh: r.RunEnergy.KWh(), GPUEnergyKWh: r.ByKind.GPU.KWh(), CPUEnergyKWh: r.ByKind.CPU.KWh(),
		DRAMEnergyKWh: r.ByKind.DRAM.KWh(), EmissionsG: r.Grams, IntensityGPerKWh: float64(r.MeanIntensity),
		IntensityZone: r.Intensity.Zone, IntensityProvider: r.Intensity.Provider, IntensityFallback: r.Intensity.Fallback,
		PUE: r.PUE, CarKm: r.Grams / GramsPerKmCar, Misuse: r.Misuse, Dropped: r.Dropped,
		BudgetExceeded: r.BudgetExceeded, StoppedByUser: r.StoppedByUser}
}
