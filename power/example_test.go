package power_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/carbontrack/carbontrack/power"
)

func ExampleJoules_KWh() {
	e := power.Watts(300).For(time.Hour)
	fmt.Println(e, "=", e.KWh(), "kWh")
	// Output: 1080000 J = 0.3 kWh
}

func ExampleLookupCPU() {
	m, ok := power.LookupCPU("AMD EPYC 7763 64-Core Processor")
	fmt.Println(ok, m.Name, m.TDP, m.Cores, "cores")
	_, ok = power.LookupCPU("Intel(R) Xeon(R) CPU @ 2.20GHz") // a cloud VM hides the model
	fmt.Println(ok)
	// Output:
	// true AMD EPYC 7763 280 W 64 cores
	// false
}

// Discovery on a machine without GPU driver or RAPL (here: empty fake roots)
// says why each is missing and falls back to the estimates.
func ExampleDiscover() {
	dir, cleanup := exampleDir()
	defer cleanup()
	d, err := power.Discover(context.Background(),
		power.WithSysfsRoot(filepath.Join(dir, "sys")),
		power.WithProcRoot(exampleProc(dir)),
		power.WithNVMLLibrary(filepath.Join(dir, "no-such-libnvidia-ml.so.1")),
		power.WithAMDSMILibrary(filepath.Join(dir, "no-such-libamd_smi.so")))
	if err != nil {
		panic(err)
	}
	defer d.Close()
	for _, s := range d.Sources {
		fmt.Printf("%s: %s\n", s.Info().Name, s.Info().Method)
	}
	for _, u := range d.Unavailable {
		fmt.Printf("not measured: %s\n", u.Name)
	}
	// Output:
	// cpu:estimate: estimated
	// dram:estimate: estimated
	// not measured: nvml
	// not measured: amdsmi
	// not measured: rapl
}
