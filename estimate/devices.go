package estimate

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

//go:embed data/accelerators.csv
var acceleratorsCSV string

// Accelerator is one row of the embedded table of accelerators
// (data/accelerators.csv): a device and the power an estimate starts from,
// with its source. It is a plain value; Accelerators and LookupAccelerator
// return copies.
type Accelerator struct {
	// Name is the canonical name, for example "H100 SXM".
	Name string
	// Aliases are other spellings that LookupAccelerator accepts
	// ("h100", "h100 sxm5").
	Aliases []string
	// Kind is "gpu" or "tpu".
	Kind string
	// Watts is the power per device in watts: an upper bound of its mean draw
	// in training (see Basis).
	Watts float64
	// Basis says what Watts is: "TDP" (the vendor's maximum thermal design
	// power or board power) or "measured max" (the highest power per chip the
	// vendor measured; Google publishes no TDP for TPUs).
	Basis string
	// MeanWatts is a mean power per device the vendor measured, in watts; 0
	// when none is published.
	MeanWatts float64
	// Year is the year of the source.
	Year int
	// Verified is false when the figure could not be confirmed against a
	// primary source; Estimate then adds a warning to Result.Notes.
	Verified bool
	// Source names the datasheet, product page or paper, and what it says.
	Source string
	// PeakTFLOPS is the peak dense tensor throughput per device in TFLOPS
	// (10^12 FLOP/s): BF16, or FP16 for parts without BF16 (V100, T4),
	// without structured sparsity, from the vendor's datasheet. 0 when no
	// trustworthy figure was found: the performance model (Job.FLOPs) then
	// needs Job.PeakTFLOPS.
	PeakTFLOPS float64
	// PeakSource names the datasheet or documentation PeakTFLOPS comes from,
	// and what it says; "" when PeakTFLOPS is 0.
	PeakSource string
}

// noise reports whether w is a word dropped when matching names: vendors,
// product lines and memory types, so that "NVIDIA H100 80GB HBM3"
// (nvidia-smi) matches "h100 80gb".
func noise(w string) bool {
	switch w {
	case "nvidia", "tesla", "google", "cloud", "gpu", "tensor", "core",
		"hbm", "hbm2", "hbm2e", "hbm3", "hbm3e":
		return true
	}
	return false
}

// nameKeys returns the two keys a name is matched on: its words sorted
// (word order ignored: "A100 80GB PCIe" = "a100-pcie-80gb") and its words
// joined in order (spacing ignored: "h100sxm" = "H100 SXM").
func nameKeys(s string) (sorted, joined string) {
	fields := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var words []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		// "80 GB" is one word, "80gb".
		if i+1 < len(fields) && fields[i+1] == "gb" && isDigits(f) {
			f += "gb"
			i++
		}
		if !noise(f) {
			words = append(words, f)
		}
	}
	joined = strings.Join(words, "")
	slices.Sort(words)
	return strings.Join(words, " "), joined
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

type deviceTable struct {
	all   []Accelerator
	index map[string]int // name key → position in all
}

var loadDevices = sync.OnceValues(func() (*deviceTable, error) { return parseDevices(acceleratorsCSV) })

var deviceHeader = []string{"name", "aliases", "kind", "watts", "basis", "mean_watts", "year", "verified", "source",
	"peak_tflops", "peak_source"}

// parseDevices reads the accelerator table. Two spellings that reach
// different devices are an error, so a lookup is never ambiguous.
func parseDevices(data string) (*deviceTable, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = len(deviceHeader)
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("estimate: accelerators.csv: %w", err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], deviceHeader) {
		return nil, errors.New("estimate: accelerators.csv: unexpected header")
	}
	t := &deviceTable{index: map[string]int{}}
	for n, row := range rows[1:] {
		line := n + 2
		a := Accelerator{Name: row[0], Kind: row[2], Basis: row[4], Source: row[8], Verified: row[7] == "yes", PeakSource: row[10]}
		if row[1] != "" {
			a.Aliases = strings.Split(row[1], "|")
		}
		if a.Watts, err = strconv.ParseFloat(row[3], 64); err != nil || !(a.Watts > 0) {
			return nil, fmt.Errorf("estimate: accelerators.csv: row %d (%s): bad watts %q", line, a.Name, row[3])
		}
		if row[5] != "" {
			if a.MeanWatts, err = strconv.ParseFloat(row[5], 64); err != nil || !(a.MeanWatts > 0) || a.MeanWatts > a.Watts {
				return nil, fmt.Errorf("estimate: accelerators.csv: row %d (%s): bad mean_watts %q", line, a.Name, row[5])
			}
		}
		if row[9] != "" {
			if a.PeakTFLOPS, err = strconv.ParseFloat(row[9], 64); err != nil || !(a.PeakTFLOPS > 0) || a.PeakTFLOPS > 1e6 {
				return nil, fmt.Errorf("estimate: accelerators.csv: row %d (%s): bad peak_tflops %q", line, a.Name, row[9])
			}
		}
		if (a.PeakTFLOPS > 0) != (a.PeakSource != "") {
			return nil, fmt.Errorf("estimate: accelerators.csv: row %d (%s): peak_tflops and peak_source go together", line, a.Name)
		}
		if a.Year, err = strconv.Atoi(row[6]); err != nil {
			return nil, fmt.Errorf("estimate: accelerators.csv: row %d (%s): bad year %q", line, a.Name, row[6])
		}
		if row[7] != "yes" && row[7] != "no" {
			return nil, fmt.Errorf("estimate: accelerators.csv: row %d (%s): verified must be yes or no", line, a.Name)
		}
		if a.Name == "" || a.Source == "" || (a.Kind != "gpu" && a.Kind != "tpu") || (a.Basis != "TDP" && a.Basis != "measured max") {
			return nil, fmt.Errorf("estimate: accelerators.csv: row %d: name, kind (gpu, tpu), basis (TDP, measured max) and source are required", line)
		}
		pos := len(t.all)
		for _, spelling := range append([]string{a.Name}, a.Aliases...) {
			s, j := nameKeys(spelling)
			for _, k := range []string{s, j} {
				if k == "" {
					return nil, fmt.Errorf("estimate: accelerators.csv: row %d (%s): empty alias", line, a.Name)
				}
				if prev, ok := t.index[k]; ok && prev != pos {
					return nil, fmt.Errorf("estimate: accelerators.csv: row %d: %q names both %s and %s", line, spelling, t.all[prev].Name, a.Name)
				}
				t.index[k] = pos
			}
		}
		t.all = append(t.all, a)
	}
	return t, nil
}

func (a Accelerator) clone() Accelerator {
	a.Aliases = slices.Clone(a.Aliases)
	return a
}

// Accelerators returns the embedded table, in its order (by vendor and
// generation). It is safe for concurrent use.
func Accelerators() ([]Accelerator, error) {
	t, err := loadDevices()
	if err != nil {
		return nil, err
	}
	out := make([]Accelerator, len(t.all))
	for i, a := range t.all {
		out[i] = a.clone()
	}
	return out, nil
}

// LookupAccelerator finds an accelerator by name or alias, case-insensitively
// and ignoring punctuation, spacing and word order and the words NVIDIA,
// Tesla, Google, Cloud, GPU, Tensor, Core and the memory type: "a100-80gb",
// "A100 80GB", "NVIDIA A100-SXM4-80GB" and "h100-sxm" all match. A name not
// in the table is an error wrapping ErrUnknownDevice that lists close
// matches (see Suggest). It is safe for concurrent use.
func LookupAccelerator(name string) (Accelerator, error) {
	t, err := loadDevices()
	if err != nil {
		return Accelerator{}, err
	}
	if a, ok := t.find(name); ok {
		return a.clone(), nil
	}
	shown := clip(name)
	if s := t.suggest(name); len(s) > 0 {
		return Accelerator{}, fmt.Errorf("%w %q: close matches: %s; or set the power per device in W yourself",
			ErrUnknownDevice, shown, strings.Join(s, ", "))
	}
	return Accelerator{}, fmt.Errorf("%w %q: no close match among the %d in the table; set the power per device in W yourself",
		ErrUnknownDevice, shown, len(t.all))
}

func (t *deviceTable) find(name string) (Accelerator, bool) {
	s, j := nameKeys(name)
	for _, k := range []string{s, j} {
		if i, ok := t.index[k]; ok && k != "" {
			return t.all[i], true
		}
	}
	return Accelerator{}, false
}

// Suggest returns up to five canonical names close to name, closest first:
// names whose spelling contains it or is contained in it, then names within
// a small edit distance (one edit per four characters, at least one). It returns nil when nothing is close. It is safe for
// concurrent use.
func Suggest(name string) []string {
	t, err := loadDevices()
	if err != nil {
		return nil
	}
	return t.suggest(name)
}

func (t *deviceTable) suggest(name string) []string {
	_, q := nameKeys(name)
	if q == "" || len(q) > 64 {
		return nil
	}
	type cand struct{ dist, pos int }
	best := map[int]int{}
	for k, pos := range t.index {
		if strings.Contains(k, " ") {
			continue // only the joined keys
		}
		d := levenshtein(q, k)
		if strings.Contains(k, q) || strings.Contains(q, k) {
			d = 0 // "h10" in "h100", "a10" in "a10g"
		} else if d > max(1, len(q)/4) {
			continue
		}
		if old, ok := best[pos]; !ok || d < old {
			best[pos] = d
		}
	}
	cs := make([]cand, 0, len(best))
	for pos, d := range best {
		cs = append(cs, cand{d, pos})
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].pos < cs[j].pos
	})
	var out []string
	for _, c := range cs {
		if len(out) == 5 {
			break
		}
		out = append(out, t.all[c.pos].Name)
	}
	return out
}

// levenshtein is the edit distance between a and b (bytes).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// clip shortens untrusted text before it goes into an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
