// Command quickstart trains a small multi-layer perceptron in pure Go on
// synthetic data and tracks its energy and emissions with carbontrack, the
// way carbontracker is used in Python: the projection after the first epoch,
// the actual consumption at the end, and the carbontracker log pair, JSON
// lines and emissions.csv in ./logs.
//
//	go run ./examples/quickstart [-epochs 5] [-logs logs] [-zone FR]
//
// The devices are discovered as on any machine: NVIDIA GPUs through NVML,
// RAPL counters where readable, otherwise estimates of the CPU (load × TDP)
// and memory.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/carbontrack/carbontrack/tracker"
)

func main() {
	epochs := flag.Int("epochs", 5, "training epochs")
	logDir := flag.String("logs", "logs", "directory for the logs (empty: none)")
	zone := flag.String("zone", "", "electricity zone for the emission factor: ISO country code, cloud region such as gcp:europe-west4, or world (env CARBONTRACK_ZONE; default: the machine is located)")
	samples := flag.Int("samples", 60000, "training samples per epoch")
	hidden := flag.Int("hidden", 128, "hidden units per layer")
	verbose := flag.Bool("v", false, "log the tracker's decisions to stderr")
	flag.Parse()
	if err := run(*epochs, *samples, *hidden, *logDir, *zone, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(epochs, samples, hidden int, logDir, zone string, verbose bool) error {
	logger := slog.New(slog.DiscardHandler)
	if verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts := []tracker.Option{tracker.WithZone(zone), tracker.WithLogger(logger), tracker.WithPrecision(6),
		tracker.WithProcess(os.Getpid())}
	if logDir != "" {
		opts = append(opts, tracker.WithLogDir(logDir))
	}
	t, err := tracker.New(epochs, opts...)
	if err != nil {
		return err
	}
	defer t.Stop()
	for _, s := range t.Sources() {
		fmt.Printf("measuring %s (%s, %s: %s)\n", s.Name, s.Device, s.Method, s.Detail)
	}
	loc := t.Location()
	fmt.Printf("emission factor: %s, zone %s\n", t.Intensity().Value, loc)
	if loc.Warning != "" {
		fmt.Fprintln(os.Stderr, "quickstart: warning:", loc.Warning)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	x, y := dataset(rng, samples, 32)
	net := newMLP(rng, 32, hidden)
	for e := 1; e <= epochs; e++ {
		t.EpochStart()
		start := time.Now()
		loss := net.epoch(rng, x, y, 0.01)
		t.EpochEnd()
		fmt.Printf("epoch %d/%d: loss %.4f (%.1f s)\n", e, epochs, loss, time.Since(start).Seconds())
	}
	t.Stop()
	r := t.Report()
	fmt.Printf("\nwhole run: %.6f kWh drawn by the devices (%.6f kWh with PUE %.2f), %.4f g CO2e at %s\n",
		r.Run.DeviceEnergy.KWh(), r.Run.FacilityEnergy.KWh(), r.PUE, r.Run.Grams, r.Intensity.String())
	for _, f := range r.Files {
		fmt.Println("wrote", f)
	}
	return nil
}

// dataset returns n samples of d features and a target y = sin(w·x) + noise.
func dataset(rng *rand.Rand, n, d int) ([][]float64, []float64) {
	w := make([]float64, d)
	for i := range w {
		w[i] = rng.NormFloat64() / math.Sqrt(float64(d))
	}
	x, y := make([][]float64, n), make([]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		var dot float64
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
			dot += w[j] * x[i][j]
		}
		y[i] = math.Sin(2*dot) + 0.05*rng.NormFloat64()
	}
	return x, y
}

// mlp is in → hidden → hidden → 1 with tanh activations, trained by SGD.
type mlp struct {
	w1, w2 [][]float64
	b1, b2 []float64
	w3     []float64
	b3     float64
	// scratch
	h1, h2, g1, g2 []float64
}

func newMLP(rng *rand.Rand, in, h int) *mlp {
	m := &mlp{w1: matrix(rng, h, in), w2: matrix(rng, h, h), b1: make([]float64, h), b2: make([]float64, h),
		w3: make([]float64, h), h1: make([]float64, h), h2: make([]float64, h), g1: make([]float64, h), g2: make([]float64, h)}
	for i := range m.w3 {
		m.w3[i] = rng.NormFloat64() / math.Sqrt(float64(h))
	}
	return m
}

func matrix(rng *rand.Rand, rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = rng.NormFloat64() / math.Sqrt(float64(cols))
		}
	}
	return m
}

// epoch runs one pass of SGD over the data in random order and returns the
// mean squared error.
func (m *mlp) epoch(rng *rand.Rand, x [][]float64, y []float64, lr float64) float64 {
	var loss float64
	for _, i := range rng.Perm(len(x)) {
		loss += m.step(x[i], y[i], lr)
	}
	return loss / float64(len(x))
}

func (m *mlp) step(x []float64, y, lr float64) float64 {
	for i, row := range m.w1 {
		s := m.b1[i]
		for j, v := range row {
			s += v * x[j]
		}
		m.h1[i] = math.Tanh(s)
	}
	out := m.b3
	for i, row := range m.w2 {
		s := m.b2[i]
		for j, v := range row {
			s += v * m.h1[j]
		}
		m.h2[i] = math.Tanh(s)
		out += m.w3[i] * m.h2[i]
	}
	d := out - y
	// Backward.
	for i := range m.g2 {
		m.g2[i] = d * m.w3[i] * (1 - m.h2[i]*m.h2[i])
		m.w3[i] -= lr * d * m.h2[i]
	}
	m.b3 -= lr * d
	for j := range m.g1 {
		m.g1[j] = 0
	}
	for i, row := range m.w2 {
		g := m.g2[i]
		for j := range row {
			m.g1[j] += g * row[j]
			row[j] -= lr * g * m.h1[j]
		}
		m.b2[i] -= lr * g
	}
	for i, row := range m.w1 {
		g := m.g1[i] * (1 - m.h1[i]*m.h1[i])
		for j := range row {
			row[j] -= lr * g * x[j]
		}
		m.b1[i] -= lr * g
	}
	return d * d
}
