package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The -update flag: "go test ./internal/cli -run TestEstimateGolden -update"
// rewrites the golden files in testdata/estimate. It is registered only if no
// other test file of the package has registered it, and read through
// flag.Lookup, so other golden tests here can share it.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
	return true
}()

func updatingGolden() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	b, _ := g.Get().(bool)
	return b
}

// estimateEnv clears the environment twins so a developer's own settings
// cannot leak into the goldens.
func estimateEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"CARBONTRACK_ZONE", "CARBONTRACK_REGION", "CARBONTRACK_PUE"} {
		t.Setenv(k, "")
	}
}

// golden compares got with testdata/estimate/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "estimate", name)
	if updatingGolden() {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/cli -run TestEstimateGolden -update to create it")
	assert.Equal(t, string(want), got, "golden file %s (rerun with -update if the change is intended)", path)
}

func TestEstimateGolden(t *testing.T) {
	cases := []struct {
		file string
		args []string
	}{
		{"textbook.txt", []string{"--watts", "1000", "--hours", "100", "--intensity", "500", "--pue", "1"}},
		{"textbook.json", []string{"--watts", "1000", "--hours", "100", "--intensity", "500", "--pue", "1", "--json"}},
		{"h100_fr_embodied.txt", []string{"--device", "h100-sxm", "--count", "8", "--days", "7", "--zone", "FR", "--embodied"}},
		{"h100_fr_embodied.json", []string{"--device", "h100-sxm", "--count", "8", "--days", "7", "--zone", "FR", "--embodied", "--json"}},
		{"a100_gpu_hours_region.txt", []string{"--device", "A100 80GB", "--count", "64", "--gpu-hours", "100000",
			"--utilization", "0.7", "--region", "gcp:us-central1", "--pue", "1.1"}},
		{"tpu_v3_world_default.txt", []string{"--device", "tpu v3", "--count", "32", "--hours", "12"}},
		{"tpu_v2_unconfirmed.txt", []string{"--device", "TPUv2", "--count", "8", "--hours", "24", "--pue", "1.1", "--zone", "US"}},
		{"custom_embodied.txt", []string{"--watts", "300", "--count", "12", "--hours", "100", "--intensity", "200", "--pue", "1.2",
			"--embodied-gpu-kg", "200", "--embodied-server-kg", "1000", "--gpus-per-server", "4", "--lifetime-years", "4",
			"--lifetime-utilization", "0.5"}},
		{"compare.txt", []string{"--device", "h100-sxm", "--count", "8", "--days", "7", "--compare-zones", "FR,DE,US,gcp:europe-north1"}},
		{"compare_embodied.txt", []string{"--device", "h100-sxm", "--count", "8", "--days", "7", "--embodied", "--compare-zones", "DE,FR,US,gcp:europe-north1"}},
		{"compare.json", []string{"--device", "h100-sxm", "--count", "8", "--days", "7", "--compare-zones", "FR,DE,US,gcp:europe-north1", "--json"}},
		// The performance model: Llama 2 7B (2 T tokens on A100-80GB, 184,320 GPU-hours
		// per Touvron et al. 2023) at the MFU those hours imply.
		{"llama2_7b_params_tokens.txt", []string{"--device", "a100-80gb", "--count", "1024", "--params", "7e9", "--tokens", "2e12",
			"--mfu", "0.4057", "--pue", "1.1", "--zone", "US"}},
		{"llama2_7b_params_tokens.json", []string{"--device", "a100-80gb", "--count", "1024", "--params", "7e9", "--tokens", "2e12",
			"--mfu", "0.4057", "--pue", "1.1", "--zone", "US", "--json"}},
		{"flops_default_mfu_offset.txt", []string{"--device", "h100-sxm", "--count", "64", "--flops", "1e23", "--zone", "DE",
			"--offset-price", "80", "--currency", "EUR"}},
		{"flops_default_mfu_offset.json", []string{"--device", "h100-sxm", "--count", "64", "--flops", "1e23", "--zone", "DE",
			"--offset-price", "80", "--currency", "EUR", "--json"}},
		// Model selection: Llama-2-like 7B and 13B, and the 7B in France.
		{"candidates.txt", candidateArgs},
		{"candidates.json", append(slices.Clone(candidateArgs), "--json")},
		{"list_devices.txt", []string{"--list-devices"}},
		{"list_devices.json", []string{"--list-devices", "--json"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			estimateEnv(t)
			code, out, stderr := runCLI(t, append([]string{"estimate"}, c.args...)...)
			require.Equal(t, 0, code, stderr)
			assert.Empty(t, stderr)
			golden(t, c.file, out)
		})
	}
}

// The textbook example comes out exactly, in both forms.
func TestEstimateTextbookJSON(t *testing.T) {
	estimateEnv(t)
	code, out, stderr := runCLI(t, "estimate", "--watts", "1000", "--hours", "100", "--intensity", "500", "--pue", "1", "--json")
	require.Equal(t, 0, code, stderr)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw), out)
	for _, k := range []string{"energy_kwh", "emissions_kg", "embodied_kg", "intensity_g_per_kwh", "pue", "hours", "count", "watts", "device", "steps", "notes"} {
		assert.Contains(t, raw, k)
	}
	assert.Equal(t, 100.0, raw["energy_kwh"])
	assert.Equal(t, 50.0, raw["emissions_kg"])
	assert.Nil(t, raw["embodied_kg"], "null unless --embodied")
	assert.Nil(t, raw["device"], "null with --watts alone")
	assert.Len(t, raw["steps"], 5)
}

func TestEstimateCompareJSON(t *testing.T) {
	estimateEnv(t)
	code, out, stderr := runCLI(t, "estimate", "--watts", "1000", "--hours", "100", "--pue", "1",
		"--compare-zones", "DE, FR ,gcp:europe-north1", "--json")
	require.Equal(t, 0, code, stderr)
	var doc compareJSON
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, "DE", doc.BaselineZone)
	require.Len(t, doc.Zones, 3)
	assert.Equal(t, []string{"gcp:europe-north1", "FR", "DE"}, []string{doc.Zones[0].Zone, doc.Zones[1].Zone, doc.Zones[2].Zone})
	// 100 kWh × (380.95 − 39.32) g = 34.163 kg saved in Finland against Germany.
	assert.InDelta(t, 100*(380.95-39.32)/1000, doc.Zones[0].SavingKg, 1e-9)
	assert.InDelta(t, (380.95-39.32)/380.95*100, doc.Zones[0].SavingPercent, 1e-9)
	assert.Zero(t, doc.Zones[2].SavingKg)
}

func TestEstimateEnvironmentTwins(t *testing.T) {
	estimateEnv(t)
	t.Setenv("CARBONTRACK_ZONE", "FR")
	t.Setenv("CARBONTRACK_PUE", "1.1")
	code, out, stderr := runCLI(t, "estimate", "--watts", "1000", "--hours", "10", "--json")
	require.Equal(t, 0, code, stderr)
	var doc estimateJSON
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.NotNil(t, doc.Zone)
	assert.Equal(t, "FR", *doc.Zone)
	assert.Equal(t, 1.1, doc.PUE)

	// Flags win over the environment, without a conflict.
	code, out, stderr = runCLI(t, "estimate", "--watts", "1000", "--hours", "10", "--intensity", "100", "--pue", "1.2", "--json")
	require.Equal(t, 0, code, stderr)
	doc = estimateJSON{}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Nil(t, doc.Zone)
	assert.Equal(t, 100.0, doc.IntensityGPerKWh)
	assert.Equal(t, 1.2, doc.PUE)

	code, out, stderr = runCLI(t, "estimate", "--watts", "1000", "--hours", "10", "--region", "gcp:europe-north1", "--json")
	require.Equal(t, 0, code, stderr)
	doc = estimateJSON{}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, "gcp:europe-north1", *doc.Zone)

	t.Setenv("CARBONTRACK_PUE", "fast")
	code, _, stderr = runCLI(t, "estimate", "--watts", "1000", "--hours", "10")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "CARBONTRACK_PUE")

	t.Setenv("CARBONTRACK_PUE", "")
	t.Setenv("CARBONTRACK_REGION", "gcp:europe-north1")
	code, _, stderr = runCLI(t, "estimate", "--watts", "1000", "--hours", "10")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "both set")
}

func TestEstimateUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no device or watts", []string{"--hours", "1"}, "give --device NAME or --watts W"},
		{"no duration", []string{"--watts", "100"}, "give the duration"},
		{"hours and days", []string{"--watts", "100", "--hours", "1", "--days", "2"}, "give one duration, not --hours and --days"},
		{"days and gpu-hours", []string{"--watts", "100", "--days", "1", "--gpu-hours", "2"}, "not --days and --gpu-hours"},
		{"negative hours", []string{"--watts", "100", "--hours", "-3"}, "--hours must be greater than 0, got -3"},
		{"negative watts", []string{"--watts", "-100", "--hours", "3"}, "--watts must be greater than 0"},
		{"zero count", []string{"--watts", "100", "--hours", "3", "--count", "0"}, "--count must be greater than 0"},
		{"zero utilization", []string{"--watts", "100", "--hours", "3", "--utilization", "0"}, "--utilization must be greater than 0"},
		{"zero intensity", []string{"--watts", "100", "--hours", "3", "--intensity", "0"}, "--intensity must be greater than 0"},
		{"negative embodied kg", []string{"--watts", "100", "--hours", "3", "--embodied-gpu-kg", "-1"}, "--embodied-gpu-kg must not be negative"},
		{"utilization above 1", []string{"--device", "h100", "--hours", "3", "--utilization", "1.5"}, "utilization must be a fraction in (0, 1]"},
		{"PUE below 1", []string{"--device", "h100", "--hours", "3", "--pue", "0.8"}, "PUE must be in [1, 5]"},
		{"unknown device", []string{"--device", "a10g", "--hours", "3"}, "close matches: A10, A100 SXM 40GB"},
		{"unknown device hint", []string{"--device", "rtx4090", "--hours", "3"}, "--list-devices"},
		{"unknown zone", []string{"--watts", "100", "--hours", "3", "--zone", "Atlantis"}, "unknown zone"},
		{"intensity and zone", []string{"--watts", "100", "--hours", "3", "--zone", "FR", "--intensity", "50"}, "not --intensity and --zone"},
		{"zone and region", []string{"--watts", "100", "--hours", "3", "--zone", "FR", "--region", "gcp:europe-north1"}, "not --zone and --region"},
		{"compare with zone", []string{"--watts", "100", "--hours", "3", "--zone", "FR", "--compare-zones", "FR,DE"}, "--compare-zones sets the zones"},
		{"compare empty zone", []string{"--watts", "100", "--hours", "3", "--compare-zones", "FR,,DE"}, "zone 2 of the comparison is empty"},
		{"compare unknown zone", []string{"--watts", "100", "--hours", "3", "--compare-zones", "FR,Atlantis"}, "Atlantis"},
		{"compute and duration", []string{"--device", "h100", "--flops", "1e21", "--hours", "3"}, "give the duration or the compute, not --hours and --flops"},
		{"flops and params", []string{"--device", "h100", "--flops", "1e21", "--params", "1e9", "--tokens", "1e10"}, "not both"},
		{"params alone", []string{"--device", "h100", "--params", "1e9"}, "--params and --tokens go together"},
		{"mfu without compute", []string{"--device", "h100", "--hours", "3", "--mfu", "0.5"}, "--mfu belongs to the performance model"},
		{"peak without compute", []string{"--device", "h100", "--hours", "3", "--peak-tflops", "900"}, "--peak-tflops belongs to the performance model"},
		{"zero mfu", []string{"--device", "h100", "--flops", "1e21", "--mfu", "0"}, "--mfu must be greater than 0"},
		{"mfu above 1", []string{"--device", "h100", "--flops", "1e21", "--mfu", "1.2"}, "MFU must be a fraction in (0, 1]"},
		{"negative flops", []string{"--device", "h100", "--flops", "-1"}, "--flops must be greater than 0"},
		{"device without a peak", []string{"--device", "h100 nvl", "--flops", "1e21"}, "no trustworthy peak throughput for H100 NVL: give its peak dense TFLOPS"},
		{"watts without a peak", []string{"--watts", "300", "--flops", "1e21"}, "no peak throughput"},
		{"offset without currency", []string{"--watts", "100", "--hours", "3", "--offset-price", "80"}, "none is assumed"},
		{"currency without offset", []string{"--watts", "100", "--hours", "3", "--currency", "EUR"}, "--currency goes with --offset-price"},
		{"bad currency", []string{"--watts", "100", "--hours", "3", "--offset-price", "80", "--currency", "euros"}, "ISO 4217"},
		{"zero offset price", []string{"--watts", "100", "--hours", "3", "--offset-price", "0", "--currency", "EUR"}, "--offset-price must be greater than 0"},
		{"offset and compare", []string{"--watts", "100", "--hours", "3", "--offset-price", "80", "--currency", "EUR", "--compare-zones", "FR,DE"}, "--offset-price applies to one estimate"},
		{"candidate and compare", []string{"--watts", "100", "--hours", "3", "--compare-zones", "FR,DE", "--candidate", "a: hours=2"}, "not both"},
		{"candidate and offset", []string{"--watts", "100", "--hours", "3", "--offset-price", "80", "--currency", "EUR", "--candidate", "a: hours=2"}, "drop --candidate or --offset-price"},
		{"candidate without name", []string{"--watts", "100", "--hours", "3", "--candidate", ": hours=2"}, "needs a name"},
		{"candidate without colon", []string{"--watts", "100", "--hours", "3", "--candidate", "hours=2"}, "NAME: KEY=VALUE"},
		{"candidate bad key", []string{"--watts", "100", "--hours", "3", "--candidate", "a: gpus=2"}, `unknown key "gpus"`},
		{"candidate key twice", []string{"--watts", "100", "--hours", "3", "--candidate", "a: hours=2 hours=3"}, "hours given twice"},
		{"candidate no value", []string{"--watts", "100", "--hours", "3", "--candidate", "a: hours"}, "want KEY=VALUE"},
		{"candidate bad value", []string{"--watts", "100", "--hours", "3", "--candidate", "a: hours=long"}, `hours must be a number greater than 0, got "long"`},
		{"candidate zero value", []string{"--watts", "100", "--hours", "3", "--candidate", "a: pue=0"}, "pue must be a number greater than 0"},
		{"candidate bad count", []string{"--watts", "100", "--hours", "3", "--candidate", "a: count=1.5"}, "count must be a whole number"},
		{"candidate bad zone", []string{"--watts", "100", "--hours", "3", "--candidate", "a: zone=Atlantis"}, "Atlantis"},
		{"candidate zone and intensity", []string{"--watts", "100", "--hours", "3", "--candidate", "a: zone=FR intensity=50"}, "not zone and intensity"},
		{"candidate unclosed quote", []string{"--watts", "100", "--hours", "3", "--candidate", `a: device="H100`}, "unclosed quote"},
		{"candidate twice", []string{"--watts", "100", "--hours", "3", "--candidate", "a: hours=2", "--candidate", "a: hours=3"}, `candidate "a" is given twice`},
		{"candidate invalid job", []string{"--watts", "100", "--candidate", "a: hours=2", "--candidate", "b: count=4"}, `candidate "b": no duration`},
		{"candidate unknown device", []string{"--hours", "3", "--candidate", "a: device=rtx4090"}, `candidate "a"`},
		{"positional argument", []string{"A100", "--hours", "3"}, `unexpected argument "A100"`},
		{"bad flag", []string{"--wats", "3"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			estimateEnv(t)
			code, out, stderr := runCLI(t, append([]string{"estimate"}, c.args...)...)
			assert.Equal(t, 2, code, stderr)
			assert.Empty(t, out)
			assert.Contains(t, stderr, c.msg)
		})
	}
}

var candidateArgs = []string{"--tokens", "2e12", "--device", "A100 80GB", "--count", "1024", "--zone", "US",
	"--candidate", "7B: params=7e9", "--candidate", "13B: params=13e9", "--candidate", "7B in FR: params=7e9 zone=FR"}

// Model selection: each candidate starts from the shared flags; 13B costs
// 13/7 of 7B at the same MFU; the 7B in France saves against the first.
func TestEstimateCandidatesJSON(t *testing.T) {
	estimateEnv(t)
	code, out, stderr := runCLI(t, append([]string{"estimate"}, append(slices.Clone(candidateArgs), "--json")...)...)
	require.Equal(t, 0, code, stderr)
	var doc candidatesJSON
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, "7B", doc.Baseline)
	require.Len(t, doc.Candidates, 3)
	inFR, small, big := doc.Candidates[0], doc.Candidates[1], doc.Candidates[2]
	assert.Equal(t, []string{"7B in FR", "7B", "13B"}, []string{inFR.Name, small.Name, big.Name})
	assert.InEpsilon(t, 13.0/7, big.TotalKg/small.TotalKg, 1e-12)
	assert.InEpsilon(t, 13.0/7, big.DeviceHours/small.DeviceHours, 1e-12)
	assert.Equal(t, 1024, big.Count)
	require.NotNil(t, big.Tokens)
	assert.Equal(t, 2e12, *big.Tokens, "shared flag")
	assert.Equal(t, 13e9, *big.Params, "the candidate's")
	assert.Equal(t, "FR", *inFR.Zone)
	assert.Equal(t, "US", *small.Zone)
	assert.Zero(t, small.SavingKg)
	assert.InDelta(t, small.TotalKg-inFR.TotalKg, inFR.SavingKg, 1e-9)
	assert.InDelta(t, (1-13.0/7)*100, big.SavingPct, 1e-9)
	assert.Nil(t, big.EmbodiedKg)

	// Overrides: a duration replaces the shared compute (and MFU); a device
	// drops the shared watts; quoted values keep their spaces; --embodied
	// applies to every candidate.
	code, out, stderr = runCLI(t, "estimate", "--watts", "500", "--count", "8", "--flops", "1e21", "--peak-tflops", "100",
		"--mfu", "0.5", "--intensity", "100", "--pue", "1", "--embodied",
		"--candidate", "given: ", "--candidate", `timed: hours=10 device="H100 SXM" region=gcp:europe-north1`)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "TOTAL")
	assert.Contains(t, out, "timed: 8 × H100 SXM, 10 h, PUE 1, 39.32 gCO2e/kWh (gcp:europe-north1, 2024)")
	// 1e21 / (100e12 × 0.5 × 3600) = 5,555.56 device-h.
	assert.Contains(t, out, "given: 8 × 500 W, 694.444 h (5,555.56 device-h")
}

// The performance model's JSON carries the compute, the peak, the MFU and the
// device-hours they give; Llama 2 70B's 1,720,320 A100 GPU-hours (Touvron et
// al. 2023, Table 2) come back within 0.1 % at the MFU they imply, 0.4347.
func TestEstimatePerformanceJSON(t *testing.T) {
	estimateEnv(t)
	code, out, stderr := runCLI(t, "estimate", "--device", "A100 80GB", "--count", "2000", "--params", "70e9", "--tokens", "2e12",
		"--mfu", "0.4347", "--intensity", "400", "--pue", "1.1", "--json")
	require.Equal(t, 0, code, stderr)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw), out)
	assert.Equal(t, 8.4e23, raw["flops"])
	assert.Equal(t, 312.0, raw["peak_tflops"])
	assert.Equal(t, 0.4347, raw["mfu"])
	assert.InDelta(t, 1720320, raw["device_hours"], 1720320*0.001)
	for _, k := range []string{"energy_kwh", "emissions_kg", "performance"} {
		assert.Contains(t, raw, k)
	}
	assert.NotContains(t, raw, "offset_cost", "only with --offset-price")
	perf := raw["performance"].(map[string]any)
	assert.Equal(t, 70e9, perf["params"])
	assert.Contains(t, perf["flops_source"], "Kaplan et al. 2020")
	assert.Contains(t, perf["peak_tflops_source"], "NVIDIA A100")
	assert.Equal(t, "given", perf["mfu_source"])

	// The power model's documents are unchanged: no performance keys.
	code, out, stderr = runCLI(t, "estimate", "--watts", "1000", "--hours", "100", "--intensity", "500", "--pue", "1", "--json")
	require.Equal(t, 0, code, stderr)
	raw = map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(out), &raw), out)
	for _, k := range []string{"flops", "peak_tflops", "mfu", "performance", "offset_cost", "offset_currency"} {
		assert.NotContains(t, raw, k)
	}
}

// Offsets: the user's price, never a default, and the caveat.
func TestEstimateOffset(t *testing.T) {
	estimateEnv(t)
	code, out, stderr := runCLI(t, "estimate", "--watts", "1000", "--hours", "100", "--intensity", "500", "--pue", "1",
		"--offset-price", "80", "--currency", "eur", "--json")
	require.Equal(t, 0, code, stderr)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw), out)
	assert.Equal(t, 4.0, raw["offset_cost"], "50 kg = 0.05 t at 80 EUR/t")
	assert.Equal(t, "EUR", raw["offset_currency"])
	assert.Contains(t, raw["notes"], "Offsets do not undo emissions: the CO2e is emitted all the same. "+
		"Avoiding it comes first: a cleaner zone, fewer or shorter runs.")

	code, out, stderr = runCLI(t, "estimate", "--watts", "1000", "--hours", "100", "--intensity", "500", "--pue", "1",
		"--offset-price", "80", "--currency", "EUR")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "offset     4 EUR")
	assert.Contains(t, out, "at 80 EUR per tonne CO2e (price given)")
	assert.Contains(t, out, "Offsets do not undo emissions")
}

func TestEstimateHelp(t *testing.T) {
	code, _, stderr := runCLI(t, "estimate", "--help")
	assert.Equal(t, 0, code)
	for _, s := range []string{"Examples:", "Uptime Institute Global Data Center Survey 2023", "Patterson et al. 2021",
		"Luccioni et al. 2022", "--compare-zones", "CARBONTRACK_PUE", "-list-devices",
		"--peak-tflops", "--mfu", "6 × N × D", "Kaplan et al. 2020", "--offset-price", "none is assumed", "do not undo", "--candidate", "Model selection"} {
		assert.Contains(t, stderr, s)
	}
	code, out, _ := runCLI(t, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "estimate")
}

// Sizes as model cards write them: 7B parameters, 2T tokens, on the command
// line and in a candidate; a bad one is a one-line usage error.
func TestEstimateCountAbbreviations(t *testing.T) {
	code, long, errOut := runCLI(t, "estimate", "--json", "--device", "a100", "--params", "7e9", "--tokens", "2e12", "--intensity", "100")
	require.Equal(t, 0, code, errOut)
	code, short, errOut := runCLI(t, "estimate", "--json", "--device", "a100", "--params", "7B", "--tokens", "2t", "--intensity", "100")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, long, short)
	assert.Contains(t, short, `"flops": 8.4e+22`)

	code, out, errOut := runCLI(t, "estimate", "--device", "a100", "--tokens", "2T", "--intensity", "100",
		"--candidate", "a: params=7B", "--candidate", "b: params=7000000000")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^b +186,966 `, out)
	assert.Regexp(t, `(?m)^a +186,966 `, out)

	code, _, errOut = runCLI(t, "estimate", "--device", "a100", "--params", "7 billion", "--tokens", "2T")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `"7 billion" is not a count: write 7e9, 7000000000 or 7B`)
	assert.Equal(t, 2, strings.Count(errOut, "\n"), "one line and the pointer to --help: %s", errOut)
}
