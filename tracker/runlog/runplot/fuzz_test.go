package runplot_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/runplot"
)

// fuzzJSONL is the seed of runlog's FuzzParseJSONLines: a tracker's JSON
// lines, interrupted in its second epoch.
const fuzzJSONL = `{"type":"epoch","epoch":1,"start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:10:00Z","duration_s":600,"device_energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_device_energy_kwh":0.05,"emissions_g":15.8,"pue":1.58,"devices":[{"name":"gpu:0","kind":"gpu"}]}
{"type":"projection","epochs":10,"known_epochs":1,"duration_s":6000,"facility_energy_kwh":0.79,"emissions_g":158}
{"type":"checkpoint","at":"2025-03-01T12:10:05Z","duration_s":605,"device_energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_device_energy_kwh":0.05,"emissions_g":15.8,"completed_epochs":1}
{"type":"final","epochs":10,"completed_epochs":1,"interrupted":true,"duration_s":700,"device_energy_kwh":0.06,"facility_energy_kwh":0.09,"emissions_g":18,"in_epochs":{"duration_s":600,"facility_energy_kwh":0.079,"emissions_g":15.8},"outside_epochs":{"duration_s":100,"facility_energy_kwh":0.011,"emissions_g":2.2}}
`

// FuzzPlot reads a carbontracker standard log and JSON lines, and plots
// what was read: it never panics, and the plot's size follows the epochs
// logged, not their numbers (the seeds: "Epoch 4000000000:",
// "Epoch 99999999999999999999:", "epoch":100000000).
func FuzzPlot(f *testing.F) {
	std := "2024-03-05 14:12:12 - Epoch 1:\n2024-03-05 14:12:12 - Duration: 0:10:00.00\n" +
		"2024-03-05 14:12:12 - Average power usage (W) for gpu: [ 90.5  209.5]\n"
	f.Add([]byte(std), []byte(fuzzJSONL))
	f.Add([]byte(strings.Replace(std, "Epoch 1:", "Epoch 4000000000:", 1)), []byte(strings.Replace(fuzzJSONL, `"epoch":1,`, `"epoch":100000000,`, 1)))
	f.Add([]byte(strings.Replace(std, "Epoch 1:", "Epoch 99999999999999999999:", 1)), []byte(""))
	f.Fuzz(func(t *testing.T, std, jsonl []byte) {
		dir := t.TempDir()
		for name, b := range map[string][]byte{"1.2_pair" + runlog.SuffixStdLog: std, "3.4_jsonl" + runlog.SuffixJSONLines: jsonl} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		runs, _ := runlog.Read(dir) // the runs that could be read
		var buf countWriter
		before := allocs()
		err := runplot.Plot(&buf, "svg", runs)
		if err != nil && !errors.Is(err, runplot.ErrNothingToPlot) && !strings.Contains(err.Error(), "runlog: plot:") {
			t.Errorf("Plot: %v", err)
		}
		if got := allocs() - before; got > 1<<30 {
			t.Errorf("Plot allocated %d bytes", got)
		}
	})
}

type countWriter int

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

func allocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}
