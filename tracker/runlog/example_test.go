package runlog_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// Two nodes of one training job, each with the JSON lines of its tracker:
// node0 finished its 2 epochs, so its whole run counts (5 minutes of data
// loading included); node1 was killed during its second epoch, so it
// counts up to its last checkpoint.
func Example() {
	dir, err := os.MkdirTemp("", "runlog")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	epoch := `{"type":"epoch","epoch":1,"start":"2025-03-01T12:05:00Z","end":"2025-03-01T12:35:00Z","duration_s":1800,"device_energy_kwh":0.3165,"facility_energy_kwh":0.5,"gpu_device_energy_kwh":0.3,"cpu_device_energy_kwh":0.0165,"emissions_g":100,"pue":1.58,"devices":[{"kind":"gpu"},{"kind":"cpu"}]}` + "\n"
	proj := `{"type":"projection","epochs":2,"known_epochs":1,"duration_s":3600,"facility_energy_kwh":1,"emissions_g":200}` + "\n"
	ckpt := `{"type":"checkpoint","at":"2025-03-01T12:55:00Z","duration_s":3000,"device_energy_kwh":0.5,"facility_energy_kwh":0.79,"emissions_g":158,"completed_epochs":1}` + "\n"
	final := `{"type":"final","duration_s":3900,"device_energy_kwh":0.7,"facility_energy_kwh":1.106,"emissions_g":221.2,"epochs":2,"completed_epochs":2,"pue":1.58,` +
		`"in_epochs":{"duration_s":3600,"device_energy_kwh":0.65,"facility_energy_kwh":1.027,"emissions_g":205.4},` +
		`"actual":{"duration_s":3600,"device_energy_kwh":0.65,"facility_energy_kwh":1.027,"emissions_g":205.4},` +
		`"outside_epochs":{"duration_s":300,"device_energy_kwh":0.05,"facility_energy_kwh":0.079,"emissions_g":15.8}}` + "\n"
	for name, text := range map[string]string{
		"node0/11.1_2025-03-01T120000Z_carbontrack.jsonl": epoch + proj + final,
		"node1/22.2_2025-03-01T120000Z_carbontrack.jsonl": epoch + proj + ckpt,
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
		fmt.Printf("%s: %d/%d epochs, %.3f kWh facility, %.2f kWh device, %.1f g (%s)\n",
			r.Name, r.Completed, r.Epochs, r.Used.FacilityKWh, r.Used.DeviceKWh, r.Used.Grams, r.Basis)
	}
	t := runlog.Sum(runs)
	fmt.Printf("total: %.3f kWh facility, %.2f kWh device, %.1f g; %d of %d runs killed\n",
		t.Used.FacilityKWh, t.Used.DeviceKWh, t.Used.Grams, t.Checkpointed, t.Runs)
	// Output:
	// 11.1_2025-03-01T120000Z: 2/2 epochs, 1.106 kWh facility, 0.70 kWh device, 221.2 g (run)
	// 22.2_2025-03-01T120000Z: 1/2 epochs, 0.790 kWh facility, 0.50 kWh device, 158.0 g (checkpoint)
	// total: 1.896 kWh facility, 1.20 kWh device, 379.2 g; 1 of 2 runs killed
}
