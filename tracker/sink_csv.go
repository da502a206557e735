package tracker

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
)

// csvSink appends the run's row to CodeCarbon's emissions.csv in the log
// directory at Stop (WithCSV), with the header when the file is new.
type csvSink struct {
	t    *Tracker
	path string
}

func newCSVSink(t *Tracker, _ string) (opened, error) {
	if !t.opts.csv {
		return opened{}, nil
	}
	path := filepath.Join(t.opts.logDir, "emissions.csv")
	return opened{sink: &csvSink{t: t, path: path}, files: []string{path}}, nil
}

func (s *csvSink) handle(ev *event) {
	if ev.kind == evFinal {
		s.write(ev.at, ev.report, ev.at.Sub(ev.report.Start))
	}
}

// sync does nothing: the row is synced as it is written.
func (s *csvSink) sync() {}

func (s *csvSink) close() {}

// csvHeader is CodeCarbon 3.x's emissions.csv header, in its order.
var csvHeader = [...]string{"timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
	"emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy",
	"energy_consumed", "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider",
	"cloud_region", "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count",
	"gpu_model", "longitude", "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent",
	"gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue"}

// CSVHeader returns CodeCarbon 3.x's emissions.csv header, in its order, as
// the tracker writes it: a new slice each call, which the caller owns.
func CSVHeader() []string { return append([]string(nil), csvHeader[:]...) }

func (s *csvSink) write(at time.Time, rep *Report, wall time.Duration) {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.writeFailed(err)
		return
	}
	st, err := f.Stat()
	cw := csv.NewWriter(f)
	if err == nil && st.Size() == 0 {
		err = cw.Write(csvHeader[:])
	}
	if err == nil {
		err = cw.Write(csvRow(s.t, at, rep, wall))
	}
	cw.Flush()
	err = errors.Join(err, cw.Error(), f.Sync(), f.Close())
	if err != nil {
		s.t.writeFailed(err)
	}
}

func f64(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// csvRow fills CodeCarbon 3.x's columns with the whole run (as CodeCarbon
// measures from start to stop): duration is the run's wall time (New to
// Stop) in s, and emissions_rate the emissions over it; emissions in kg;
// energies in kWh with PUE, as CodeCarbon applies it to each component
// (cpu, gpu and ram energy sum to energy_consumed); powers in W, the mean
// over the run; the country by ISO 3166-1 alpha-3 code and
// name when the zone is a country (or a country's region, "DK-DK1"); what
// does not apply is empty, as CodeCarbon leaves unknown values.
func csvRow(t *Tracker, at time.Time, rep *Report, wall time.Duration) []string {
	dur := wall.Seconds()
	kg := rep.Run.Grams / 1000
	rate := 0.0
	if dur > 0 {
		rate = kg / dur
	}
	span := rep.Run.Duration.Seconds()
	pw := func(j power.Joules) string {
		if span <= 0 {
			return "0"
		}
		return f64(float64(j) / span)
	}
	kwh := func(j power.Joules) string { return f64(j.KWh() * rep.PUE) }
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
	if c, ok := zoneCountry(rep.Intensity.Zone); ok {
		iso, country = c.Alpha3, c.Name
	}
	row := map[string]string{
		"timestamp": at.Format("2006-01-02T15:04:05"), "project_name": t.opts.project,
		"run_id": fmt.Sprintf("%d-%d", os.Getpid(), rep.Start.UnixNano()), "experiment_id": "",
		"duration": f64(dur), "emissions": f64(kg), "emissions_rate": f64(rate),
		"cpu_power": pw(rep.Run.ByKind.CPU), "gpu_power": pw(rep.Run.ByKind.GPU), "ram_power": pw(rep.Run.ByKind.DRAM),
		"cpu_energy": kwh(rep.Run.ByKind.CPU), "gpu_energy": kwh(rep.Run.ByKind.GPU), "ram_energy": kwh(rep.Run.ByKind.DRAM),
		"energy_consumed": f64(rep.Run.FacilityEnergy.KWh()), "water_consumed": "0",
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
	out := make([]string, len(csvHeader))
	for i, h := range csvHeader {
		out[i] = row[h]
	}
	return out
}

// zoneCountry returns the country of a zone that is a country ("DK",
// "DNK") or a country's region ("DK-DK1", "US-CAL-CISO"); not of a cloud
// region or "world".
func zoneCountry(zone string) (factor.Country, bool) {
	if zone == "" || strings.Contains(zone, ":") {
		return factor.Country{}, false
	}
	if c, err := factor.LookupCountry(zone); err == nil {
		return c, true
	}
	if cc, _, ok := strings.Cut(zone, "-"); ok {
		if c, err := factor.LookupCountry(cc); err == nil {
			return c, true
		}
	}
	return factor.Country{}, false
}
