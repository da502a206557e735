package records

import "time"

// The record types: the "type" field of each line.
const (
	TypeEpoch      = "epoch"
	TypeProjection = "projection"
	TypeCheckpoint = "checkpoint"
	TypeFinal      = "final"
	TypePower      = "power"
)

// Who says whose run a record is: the job's id (the same on every node and
// rank), the machine's name and the process's global rank. Each is left
// out when unknown (a nil Rank); older logs have none of them.
type Who struct {
	RunID string `json:"run_id,omitempty"`
	Node  string `json:"node,omitempty"`
	Rank  *int   `json:"rank,omitempty"`
}

// Head starts every record of the JSON lines: whose it is, then its type.
// A reader decodes a line into a Head first, then into its type's record.
type Head struct {
	Who
	Type string `json:"type"`
}

// Num is how a record holds a device energy: float64 when the tracker
// writes it; *float64 when runlog reads it, nil when the line lacks it.
type Num interface{ float64 | *float64 }

// Totals are the time, energies and emissions of a part of a run. Energies
// are in kWh: DeviceEnergyKWh and the per-kind ones before PUE,
// FacilityEnergyKWh with it.
type Totals[N Num] struct {
	DurationS         float64 `json:"duration_s"`
	DeviceEnergyKWh   N       `json:"device_energy_kwh"`
	FacilityEnergyKWh float64 `json:"facility_energy_kwh"`
	GPUEnergyKWh      N       `json:"gpu_device_energy_kwh"`
	CPUEnergyKWh      N       `json:"cpu_device_energy_kwh"`
	DRAMEnergyKWh     N       `json:"dram_device_energy_kwh"`
	EmissionsG        float64 `json:"emissions_g"`
}

// Device is a device's part of an epoch.
type Device struct {
	Name            string  `json:"name"`
	Kind            string  `json:"kind"`
	Device          string  `json:"device"`
	Method          string  `json:"method"`
	DeviceEnergyKWh float64 `json:"device_energy_kwh"`
	// Uncertainty is an estimated device's relative uncertainty
	// (power.Info.Uncertainty: half the measurements within ± it); left
	// out for measured devices and unquantified estimates.
	Uncertainty float64 `json:"uncertainty,omitempty"`
}

// Epoch is written when an epoch ends (or is cut short by Stop:
// Interrupted). Its intensity is its emissions over its facility energy.
type Epoch[N Num] struct {
	Head
	Epoch int       `json:"epoch"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Totals[N]
	IntensityGPerKWh float64  `json:"intensity_g_per_kwh"`
	PUE              float64  `json:"pue"`
	Interrupted      bool     `json:"interrupted"`
	Devices          []Device `json:"devices"`
	// Work is the work the epoch did (EpochEndWork), in the final record's
	// WorkUnit; left out when none was reported.
	Work float64 `json:"work,omitempty"`
}

// Projection is written each time the projection for all Epochs epochs is
// remade, from KnownEpochs epochs; the trend's figures only with Trend.
type Projection struct {
	Head
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

// Checkpoint is the run so far, appended every checkpoint interval: the
// run's totals (the headline's fields at top level, as in the final
// record) up to At.
//
// It also says what the final record says of the run (About, its
// Uncertainty, the epochs announced), so that a run killed before its end
// is described by its last checkpoint. Older checkpoints have only the
// totals.
type Checkpoint[N Num] struct {
	Head
	At time.Time `json:"at"`
	Totals[N]
	CompletedEpochs int `json:"completed_epochs"`
	Epochs          int `json:"epochs,omitempty"`
	About
	Uncertainty
}

// About is what a run is, as far as its figures go: the intensity and
// where it came from, the PUE, the run's label and scope. The final record
// and the checkpoints carry it.
type About struct {
	IntensityGPerKWh  float64 `json:"intensity_g_per_kwh"`
	IntensityZone     string  `json:"intensity_zone"`
	IntensityProvider string  `json:"intensity_provider"`
	IntensityFallback string  `json:"intensity_fallback,omitempty"`
	IntensityZoneFrom string  `json:"intensity_zone_from,omitempty"`
	// IntensitySource is the intensity data's attribution and
	// IntensityYear the year an annual average describes (left out for
	// live values).
	IntensitySource string `json:"intensity_source,omitempty"`
	IntensityYear   int    `json:"intensity_year,omitempty"`
	// Label names the run for people (the command line of "carbontrack
	// run"); Scope is "machine" or "process" (a process tree's share).
	Label string  `json:"label,omitempty"`
	Scope string  `json:"scope,omitempty"`
	PUE   float64 `json:"pue"`
}

// Uncertainty bounds the run's emissions by the uncertainty of its
// estimated devices (tracker.EmissionsInterval): EmissionsLowG and
// EmissionsHighG, and EmissionsUncertainty names them ("CPU estimated
// ±34 %"). All are left out when no device was estimated.
type Uncertainty struct {
	EmissionsLowG        float64 `json:"emissions_low_g,omitempty"`
	EmissionsHighG       float64 `json:"emissions_high_g,omitempty"`
	EmissionsUncertainty string  `json:"emissions_uncertainty,omitempty"`
}

// Final is written at Stop. Its top-level totals are the whole run's (the
// headline); InEpochs holds the epochs' part (an interrupted epoch's
// included), Actual the completed epochs' (carbontracker's actual
// consumption) and OutsideEpochs the rest. Older final records have no
// parts (nil when read), and their totals were the epochs'.
type Final[N Num] struct {
	Head
	Totals[N]
	Epochs          int        `json:"epochs"`
	CompletedEpochs int        `json:"completed_epochs"`
	Interrupted     bool       `json:"interrupted"`
	InEpochs        *Totals[N] `json:"in_epochs"`
	Actual          *Totals[N] `json:"actual"`
	OutsideEpochs   *Totals[N] `json:"outside_epochs"`
	About
	CarKm          float64  `json:"car_km"`
	Misuse         int      `json:"misuse"`
	Dropped        int      `json:"dropped_records"`
	BudgetExceeded bool     `json:"budget_exceeded"`
	StoppedByUser  bool     `json:"stopped_by_user"`
	StopTimeouts   []string `json:"stop_timeouts,omitempty"`
	// MeasuredElsewhere are the devices of the machine that another
	// tracker counted; SharingNote why devices may be counted twice.
	MeasuredElsewhere []Elsewhere `json:"measured_elsewhere,omitempty"`
	SharingNote       string      `json:"sharing_note,omitempty"`
	// Work is the epochs' work (EpochEndWork) summed, in WorkUnit, over
	// WorkEpochs epochs; the per-million figures divide those epochs'
	// facility energy (PUE included) and emissions by it. All are left out
	// when no work was reported.
	Work                            float64 `json:"work,omitempty"`
	WorkUnit                        string  `json:"work_unit,omitempty"`
	WorkEpochs                      int     `json:"work_epochs,omitempty"`
	FacilityEnergyKWhPerMillionWork float64 `json:"facility_energy_kwh_per_million_work,omitempty"`
	EmissionsGPerMillionWork        float64 `json:"emissions_g_per_million_work,omitempty"`
	Uncertainty
}

// Elsewhere is a device of the machine that another tracker counted, and
// who: "pid 4242 (run r7, node n0, rank 1)", "local rank 1".
type Elsewhere struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	By   string `json:"by"`
}

// Power is a point of the power series, one line each:
//
//	{"type":"power","time":"2025-03-01T12:00:05Z","interval_s":5,"power_w":{"cpu":41.2,"dram":3.1}}
//
// the devices' average power in W (before PUE) by kind ("gpu", "cpu",
// "dram") over the IntervalS seconds that end at Time. The power series
// has no identity: it shares its base name with the run's other files.
//
// A point that merges several readings (a long run's series, bounded in
// size) also gives the lowest and highest power of its readings by kind;
// they are left out when the point is one reading.
type Power struct {
	Type      string             `json:"type"`
	Time      time.Time          `json:"time"`
	IntervalS float64            `json:"interval_s"`
	PowerW    map[string]float64 `json:"power_w"`
	MinPowerW map[string]float64 `json:"min_power_w,omitempty"`
	MaxPowerW map[string]float64 `json:"max_power_w,omitempty"`
}
