package runlog_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// Two nodes of one training job, each with the JSON lines of its tracker:
// node0 finished its 2 epochs, node1 was killed after 1 of them, so its
// projection counts.
func Example() {
	dir, err := os.MkdirTemp("", "runlog")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	epoch := `{"type":"epoch","epoch":1,"start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:30:00Z","duration_s":1800,"facility_energy_kwh":0.5,"gpu_energy_kwh":0.3,"cpu_energy_kwh":0.0165,"emissions_g":100,"pue":1.58,"devices":[{"kind":"gpu"},{"kind":"cpu"}]}` + "\n"
	proj := `{"type":"projection","epochs":2,"known_epochs":1,"duration_s":3600,"facility_energy_kwh":1,"emissions_g":200}` + "\n"
	final := `{"type":"final","epochs":2,"completed_epochs":2,"duration_s":3700,"facility_energy_kwh":1.1,"emissions_g":210,"pue":1.58}` + "\n"
	for name, text := range map[string]string{
		"node0/11.1_2025-03-01T120000Z_carbontrack.jsonl": epoch + proj + final,
		"node1/22.2_2025-03-01T120000Z_carbontrack.jsonl": epoch + proj,
	} {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		_ = os.WriteFile(p, []byte(text), 0o644)
	}

	runs, err := runlog.Read(filepath.Join(dir, "node0"), filepath.Join(dir, "node1"))
	if err != nil {
		panic(err)
	}
	for _, r := range runs {
		fmt.Printf("%s: %d/%d epochs, %.2f kWh, %.0f g (%s)\n", r.Name, r.Completed, r.Epochs, r.Used.KWh, r.Used.Grams, r.Basis)
	}
	t := runlog.Sum(runs)
	fmt.Printf("total: %.2f kWh, %.0f g; %d of %d runs projected\n", t.Used.KWh, t.Used.Grams, t.Projected, t.Runs)
	// Output:
	// 11.1_2025-03-01T120000Z: 2/2 epochs, 1.10 kWh, 210 g (actual)
	// 22.2_2025-03-01T120000Z: 1/2 epochs, 1.00 kWh, 200 g (projection)
	// total: 2.10 kWh, 410 g; 1 of 2 runs projected
}
