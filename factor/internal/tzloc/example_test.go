package tzloc_test

import (
	"fmt"
	"os"

	"github.com/carbontrack/carbontrack/factor/internal/tzloc"
)

func ExampleCountry() {
	for _, name := range []string{"Europe/Berlin", "Asia/Calcutta", "US/Eastern", "UTC"} {
		cc, ok := tzloc.Country(name)
		fmt.Println(name, cc, ok)
	}
	// Output:
	// Europe/Berlin DE true
	// Asia/Calcutta IN true
	// US/Eastern US true
	// UTC  false
}

func ExampleFindLocal() {
	local := tzloc.FindLocal(os.Getenv, "")
	if cc, ok := tzloc.Country(local.Name); ok {
		fmt.Printf("time zone %s (from %s) suggests %s\n", local.Name, local.From, cc)
	}
}
