package htmlreport_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/htmlreport"
)

// A run of two epochs, read from its tracker's JSON lines, as a page: its
// headings and the captions of its charts.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "htmlreport")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	epoch := `{"type":"epoch","epoch":%d,"start":"2025-03-01T%s:00Z","end":"2025-03-01T%s:30:00Z","duration_s":1800,"device_energy_kwh":0.3165,"facility_energy_kwh":0.5,"gpu_device_energy_kwh":0.3,"cpu_device_energy_kwh":0.0165,"emissions_g":%d,"pue":1.58,"devices":[{"kind":"gpu"},{"kind":"cpu"}]}` + "\n"
	final := `{"type":"final","duration_s":3600,"device_energy_kwh":0.633,"facility_energy_kwh":1,"emissions_g":190,"epochs":2,"completed_epochs":2,"pue":1.58}` + "\n"
	log := fmt.Sprintf(epoch, 1, "12:00", "12", 100) + fmt.Sprintf(epoch, 2, "13:00", "13", 90) + final
	if err := os.WriteFile(filepath.Join(dir, "11.1_2025-03-01T120000Z"+runlog.SuffixJSONLines), []byte(log), 0o644); err != nil {
		panic(err)
	}
	runs, err := runlog.Read(dir)
	if err != nil {
		panic(err)
	}

	var page bytes.Buffer
	err = htmlreport.Write(&page, runs, htmlreport.Options{Title: "Nightly training", BudgetGrams: 500,
		GeneratedAt: time.Date(2025, 3, 2, 8, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	for _, m := range regexp.MustCompile(`<(h1|h2|figcaption)[^>]*>([^<]*)<`).FindAllStringSubmatch(page.String(), -1) {
		fmt.Printf("%s: %s\n", m[1], m[2])
	}
	// Output:
	// h1: Nightly training
	// h2: Overview
	// h2: Run 1: 11.1_2025-03-01T120000Z
	// figcaption: Average power of the devices in each epoch, by component (W, before PUE)
	// figcaption: Emissions of each epoch (g CO2e, PUE included)
	// figcaption: Cumulative emissions of the epochs (g CO2e, PUE included)
	// figcaption: Carbon intensity of each epoch (g CO2e/kWh)
}
