package estimate

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookupAcceleratorSpellings(t *testing.T) {
	cases := map[string]string{
		// Users' spellings.
		"a100-80gb": "A100 SXM 80GB", "A100 80GB": "A100 SXM 80GB", "a100 80 GB": "A100 SXM 80GB",
		"h100-sxm": "H100 SXM", "H100 SXM5": "H100 SXM", "h100sxm": "H100 SXM", "H100": "H100 SXM",
		"h100 pcie": "H100 PCIe", "pcie-h100": "H100 PCIe", "A100 PCIe 80GB": "A100 PCIe 80GB",
		"a100-pcie": "A100 PCIe 40GB", "v100": "V100 SXM2", "V100S": "V100 PCIe",
		"h200": "H200 SXM", "H200 NVL": "H200 NVL", "b200": "B200", "l4": "L4", "T4": "T4", "a10": "A10",
		"tpu-v2": "TPU v2", "TPUv3": "TPU v3", "tpu v4": "TPU v4", "Cloud TPU v4": "TPU v4",
		// Names as nvidia-smi / NVML print them.
		"NVIDIA A100-SXM4-80GB": "A100 SXM 80GB", "NVIDIA A100-SXM4-40GB": "A100 SXM 40GB",
		"NVIDIA A100-PCIE-40GB": "A100 PCIe 40GB", "NVIDIA A100 80GB PCIe": "A100 PCIe 80GB",
		"NVIDIA H100 80GB HBM3": "H100 SXM", "NVIDIA H100 PCIe": "H100 PCIe", "NVIDIA H100 NVL": "H100 NVL",
		"NVIDIA H200": "H200 SXM", "Tesla V100-SXM2-16GB": "V100 SXM2", "Tesla V100-PCIE-32GB": "V100 PCIe",
		"Tesla T4": "T4", "NVIDIA L4": "L4", "NVIDIA A10": "A10", "NVIDIA B200": "B200",
	}
	for in, want := range cases {
		a, err := LookupAccelerator(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, a.Name, in)
		}
	}
}

// The figures the sources fix; a change to the table must be
// a deliberate one.
func TestAcceleratorTable(t *testing.T) {
	want := map[string]float64{
		"V100 SXM2": 300, "V100 PCIe": 250, "A100 SXM 40GB": 400, "A100 SXM 80GB": 400, "A100 PCIe 40GB": 250,
		"A100 PCIe 80GB": 300, "H100 SXM": 700, "H100 PCIe": 350, "H200 SXM": 700, "H200 NVL": 600, "B200": 1000,
		"L4": 72, "T4": 70, "A10": 150, "TPU v2": 280, "TPU v3": 262, "TPU v4": 192,
	}
	all, err := Accelerators()
	require.NoError(t, err)
	got := map[string]Accelerator{}
	for _, a := range all {
		got[a.Name] = a
		assert.NotEmpty(t, a.Source, a.Name)
		assert.GreaterOrEqual(t, a.Year, 2017, a.Name)
		assert.Contains(t, a.Source, "(", "%s: the source names its year or place", a.Name)
		if !a.Verified {
			assert.True(t, strings.HasPrefix(a.Source, "UNCONFIRMED"), "%s: an unconfirmed figure says so in its source", a.Name)
		}
	}
	for name, w := range want {
		if assert.Contains(t, got, name) {
			assert.Equal(t, w, got[name].Watts, name)
		}
	}
	// Peak dense BF16/FP16 tensor TFLOPS per device, without sparsity
	// (vendor datasheets; see the table's peak_source). 0: no trustworthy
	// figure, the performance model asks for it.
	wantPeak := map[string]float64{
		"V100 SXM2": 125, "V100 PCIe": 112, "A100 SXM 40GB": 312, "A100 SXM 80GB": 312, "A100 PCIe 40GB": 312,
		"A100 PCIe 80GB": 312, "H100 SXM": 989, "H100 PCIe": 756, "H100 NVL": 0, "H200 SXM": 989, "H200 NVL": 0,
		"B200": 2250, "L40S": 0, "L4": 121, "T4": 65, "A10": 125, "TPU v2": 45, "TPU v3": 123, "TPU v4": 275,
	}
	assert.Len(t, wantPeak, len(all), "every row's peak is pinned here")
	for name, p := range wantPeak {
		if assert.Contains(t, got, name) {
			a := got[name]
			assert.Equal(t, p, a.PeakTFLOPS, name)
			if p > 0 {
				assert.Contains(t, a.PeakSource, "(", "%s: the peak's source names its year or place", name)
				assert.Contains(t, a.PeakSource, "TFLOPS", name)
			} else {
				assert.Empty(t, a.PeakSource, name)
			}
		}
	}
	assert.False(t, got["TPU v2"].Verified, "TPU v2's per-chip power could not be confirmed")
	assert.Equal(t, 220.0, got["TPU v3"].MeanWatts)
	assert.Equal(t, 170.0, got["TPU v4"].MeanWatts)

	// Callers get copies.
	all[0].Aliases[0] = "changed"
	again, err := Accelerators()
	require.NoError(t, err)
	assert.NotEqual(t, "changed", again[0].Aliases[0])
}

func TestParseDevicesRejects(t *testing.T) {
	const header = "name,aliases,kind,watts,basis,mean_watts,year,verified,source,peak_tflops,peak_source\n"
	for name, data := range map[string]string{
		"bad header":        "name,watts\nX,1\n",
		"bad watts":         header + "X,,gpu,lots,TDP,,2020,yes,src,,\n",
		"zero watts":        header + "X,,gpu,0,TDP,,2020,yes,src,,\n",
		"mean above max":    header + "X,,gpu,100,TDP,200,2020,yes,src,,\n",
		"bad year":          header + "X,,gpu,100,TDP,,soon,yes,src,,\n",
		"bad verified":      header + "X,,gpu,100,TDP,,2020,maybe,src,,\n",
		"unknown kind":      header + "X,,fpga,100,TDP,,2020,yes,src,,\n",
		"no source":         header + "X,,gpu,100,TDP,,2020,yes,,,\n",
		"ambiguous alias":   header + "X,foo,gpu,100,TDP,,2020,yes,src,,\nY,foo,gpu,200,TDP,,2020,yes,src,,\n",
		"empty alias":       header + "X,--,gpu,100,TDP,,2020,yes,src,,\n",
		"too few fields":    header + "X,,gpu,100\n",
		"bad peak":          header + "X,,gpu,100,TDP,,2020,yes,src,fast,peak src\n",
		"negative peak":     header + "X,,gpu,100,TDP,,2020,yes,src,-5,peak src\n",
		"peak, no source":   header + "X,,gpu,100,TDP,,2020,yes,src,100,\n",
		"source, no peak":   header + "X,,gpu,100,TDP,,2020,yes,src,,peak src\n",
		"name clash, order": header + "A B,,gpu,100,TDP,,2020,yes,src,,\nB A,,gpu,200,TDP,,2020,yes,src,,\n",
	} {
		_, err := parseDevices(data)
		assert.Error(t, err, name)
	}
	tab, err := parseDevices(header + "# comment\nX 1,x-one,gpu,100,TDP,,2020,yes,src,50,peak src (2020)\n")
	require.NoError(t, err)
	a, ok := tab.find("X-1")
	assert.True(t, ok)
	assert.Equal(t, "X 1", a.Name)
	assert.Equal(t, 50.0, a.PeakTFLOPS)
	assert.Equal(t, "peak src (2020)", a.PeakSource)
}

func TestSuggest(t *testing.T) {
	assert.Equal(t, []string{"A10", "A100 SXM 40GB"}, Suggest("a10g"))
	assert.Equal(t, []string{"H100 SXM", "H100 PCIe", "H100 NVL"}, Suggest("h10")[:3])
	assert.Contains(t, Suggest("tpu v5"), "TPU v4")
	assert.Contains(t, Suggest("h1000"), "H100 SXM")
	assert.Empty(t, Suggest("rtx 4090"))
	assert.Empty(t, Suggest(""))
	assert.Empty(t, Suggest(strings.Repeat("x", 1000)))
}

// FuzzLookupAccelerator checks that any name either matches or is an
// ErrUnknownDevice error with a bounded message, and never panics.
func FuzzLookupAccelerator(f *testing.F) {
	for _, s := range []string{"h100-sxm", "NVIDIA A100-SXM4-80GB", "a100 80 GB", "tpu v4", "", "80 gb", "gb", "ü100", "a10g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		a, err := LookupAccelerator(name)
		if err != nil {
			if !errors.Is(err, ErrUnknownDevice) {
				t.Fatalf("%q: %v", name, err)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("%q: message of %d bytes", name, len(err.Error()))
			}
			return
		}
		if a.Name == "" || a.Watts <= 0 {
			t.Fatalf("%q: matched an empty row %+v", name, a)
		}
		if !utf8.ValidString(name) {
			return
		}
		// A match is stable under case and punctuation changes.
		b, err := LookupAccelerator(strings.ToUpper(name) + " ")
		if err == nil && b.Name != a.Name {
			t.Fatalf("%q matched %s, upper-cased %s", name, a.Name, b.Name)
		}
	})
}
