package estimate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/carbontrack/carbontrack/factor"
)

// ZoneEstimate is one job's estimate in one zone of a Comparison. It is a
// plain value.
type ZoneEstimate struct {
	// Zone is the zone as given, without surrounding spaces ("FR",
	// "gcp:europe-north1").
	Zone string
	// Intensity is the zone's annual average from the embedded tables.
	Intensity factor.Intensity
	// EmissionsKg is the operational emissions in the zone, in kgCO2e.
	EmissionsKg float64
	// TotalKg is EmissionsKg plus the embodied emissions (the same in every
	// zone), in kgCO2e.
	TotalKg float64
	// SavingKg is the baseline zone's TotalKg minus this zone's, in kgCO2e:
	// positive when running here emits less than in the baseline.
	SavingKg float64
	// SavingPercent is SavingKg as a percentage of the baseline's TotalKg
	// (0 when that is 0).
	SavingPercent float64
}

// Comparison is the same job estimated in several zones. It is a plain value.
type Comparison struct {
	// Result is the estimate in the baseline zone; its energy, devices,
	// hours and embodied emissions are those of every zone.
	Result Result
	// Baseline is the first zone given, which savings are measured against.
	Baseline string
	// Zones holds one estimate per zone, sorted by TotalKg, lowest first
	// (zones of equal emissions keep the order given).
	Zones []ZoneEstimate
}

// CompareZones estimates job in each zone, looked up in the embedded tables
// (factor.Lookup), and measures each against the first: where the same run
// emits least, and how much moving it saves. job must not set Intensity or
// Zone. It is safe for concurrent use.
func CompareZones(job Job, zones []string) (Comparison, error) {
	if job.Intensity != 0 || strings.TrimSpace(job.Zone) != "" {
		return Comparison{}, fmt.Errorf("%w: a comparison sets the zone: leave the intensity and the zone of the job empty", ErrInvalid)
	}
	if len(zones) == 0 {
		return Comparison{}, fmt.Errorf("%w: no zones to compare: give at least one (FR, DE, gcp:europe-north1)", ErrInvalid)
	}
	var c Comparison
	for i, z := range zones {
		z = strings.TrimSpace(z)
		if z == "" {
			return Comparison{}, fmt.Errorf("%w: zone %d of the comparison is empty", ErrInvalid, i+1)
		}
		j := job
		j.Zone = z
		r, err := Estimate(j)
		if err != nil {
			return Comparison{}, err
		}
		if i == 0 {
			c.Result, c.Baseline = r, z
		}
		c.Zones = append(c.Zones, ZoneEstimate{Zone: z, Intensity: r.Intensity, EmissionsKg: r.EmissionsKg, TotalKg: r.TotalKg})
	}
	base := c.Zones[0].TotalKg
	for i := range c.Zones {
		z := &c.Zones[i]
		z.SavingKg = base - z.TotalKg
		if base != 0 {
			z.SavingPercent = z.SavingKg / base * 100
		}
	}
	sort.SliceStable(c.Zones, func(i, j int) bool { return c.Zones[i].TotalKg < c.Zones[j].TotalKg })
	return c, nil
}
