package runlog

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot sizes: 8 × 8 inches, 768 × 768 pixels at vgimg's 96 DPI.
const (
	PlotWidth  = 8 * vg.Inch
	PlotHeight = 8 * vg.Inch
)

// ErrNothingToPlot means the runs have no epoch and no power series.
var ErrNothingToPlot = errors.New("runlog: plot: no epoch or power data to plot")

// kindColors are the colours of the usual components.
var kindColors = map[string]color.Color{
	"gpu":  color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	"cpu":  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	"dram": color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
}

// PlotFile draws the runs (see Plot) into path, a PNG or an SVG by its
// extension (.png, .svg).
func PlotFile(path string, runs []Run) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != "png" && format != "svg" {
		return fmt.Errorf("runlog: plot: %q: the file must end in .png or .svg", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("runlog: plot: %w", err)
	}
	if err := Plot(f, format, runs); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("runlog: plot: %w", err)
	}
	return nil
}

// Plot draws two charts, one above the other, and writes them to w as
// format "png" or "svg" (PlotWidth × PlotHeight): the devices' power (W,
// before PUE) by component over the time since each run's start — from the
// run's power series when it has one (Run.Power: "carbontrack run"'s, or
// the average power between the tracker's checkpoints, so that a run
// without epochs is drawn too), else each epoch's average power as a step
// — and the emissions of each epoch (g CO2e, PUE included) as bars, one
// colour per run. It returns ErrNothingToPlot when no run has either.
func Plot(w io.Writer, format string, runs []Run) error {
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(PlotWidth, PlotHeight)}
	case "svg":
		c = vgsvg.New(PlotWidth, PlotHeight)
	default:
		return fmt.Errorf("runlog: plot: unknown format %q: use png or svg", format)
	}
	top, bottom, err := charts(runs)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(18)}
	cs := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(cs[0][0])
	bottom.Draw(cs[1][0])
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("runlog: plot: %w", err)
	}
	return nil
}

// timeUnit picks seconds, minutes or hours for a span.
func timeUnit(span time.Duration) (time.Duration, string) {
	switch {
	case span <= 2*time.Minute:
		return time.Second, "s"
	case span <= 3*time.Hour:
		return time.Minute, "min"
	}
	return time.Hour, "h"
}

// series is one step line: a run's component.
type series struct {
	run, kind string
	runIdx    int
	// steps are [from, to) offsets from the run's start with a power.
	steps []step
}

type step struct {
	from, to time.Duration
	watts    float64
}

func powerSeries(runs []Run) ([]series, time.Duration) {
	var out []series
	var span time.Duration
	for ri, r := range runs {
		byKind := map[string]*series{}
		add := func(kind string, s step) {
			ser := byKind[kind]
			if ser == nil {
				ser = &series{run: r.Name, kind: kind, runIdx: ri}
				byKind[kind] = ser
			}
			ser.steps = append(ser.steps, s)
			span = max(span, s.to)
		}
		if len(r.Power) > 0 {
			start := r.Start
			if start.IsZero() {
				start = r.Power[0].Time.Add(-r.Power[0].Interval)
			}
			for _, p := range r.Power {
				from, to := p.Time.Add(-p.Interval).Sub(start), p.Time.Sub(start)
				for _, k := range kindOrder(keys(p.Watts)) {
					add(k, step{from: max(from, 0), to: to, watts: p.Watts[k]})
				}
			}
		} else {
			for _, e := range r.EpochRecords {
				for _, k := range kindOrder(keys(e.Watts)) {
					add(k, step{from: e.Offset, to: e.Offset + e.Duration, watts: e.Watts[k]})
				}
			}
		}
		for _, k := range kindOrder(keys(byKind)) {
			out = append(out, *byKind[k])
		}
	}
	return out, span
}

// headroom is the factor above the highest value that leaves room for a
// legend of n entries in the top right corner.
func headroom(n int) float64 { return 1.15 + 0.07*float64(n) }

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func charts(runs []Run) (top, bottom *plot.Plot, err error) {
	sers, span := powerSeries(runs)
	nEpochs := 0
	for _, r := range runs {
		nEpochs += len(r.EpochRecords)
	}
	if len(sers) == 0 && nEpochs == 0 {
		return nil, nil, ErrNothingToPlot
	}
	multi := len(runs) > 1

	unit, unitName := timeUnit(span)
	top = plot.New()
	top.Title.Text = "Power draw of the devices by component (before PUE)"
	top.X.Label.Text = fmt.Sprintf("Time since the start of the run (%s)", unitName)
	top.Y.Label.Text = "Power (W)"
	top.Y.Min = 0
	top.Legend.Top = true
	top.Add(plotter.NewGrid())
	maxW := 0.0
	for i, s := range sers {
		var xys plotter.XYs
		for _, st := range s.steps {
			xys = append(xys,
				plotter.XY{X: float64(st.from) / float64(unit), Y: st.watts},
				plotter.XY{X: float64(st.to) / float64(unit), Y: st.watts})
			maxW = max(maxW, st.watts)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, nil, fmt.Errorf("runlog: plot: %w", err)
		}
		l.Width = vg.Points(2)
		l.Color = kindColors[s.kind]
		if l.Color == nil {
			l.Color = plotutil.Color(i)
		}
		l.Dashes = plotutil.Dashes(s.runIdx)
		top.Add(l)
		label := s.kind
		if multi {
			label = s.run + ": " + s.kind
		}
		top.Legend.Add(label, l)
	}
	if len(sers) == 0 {
		top.Title.Text += " (no power data)"
	}
	// Room above the lines for the legend.
	top.Y.Max = max(maxW*headroom(len(sers)), 1)

	bottom = plot.New()
	bottom.Title.Text = "Emissions per epoch (g CO2e, PUE included)"
	bottom.X.Label.Text = "Epoch"
	bottom.Y.Label.Text = "Emissions (g CO2e)"
	bottom.Y.Min = 0
	bottom.Legend.Top = true
	bottom.Add(plotter.NewGrid())
	// Bars are placed by the epoch numbers present (from 1), in order: at
	// their number when they are 1…n, else one after the other, labelled
	// with their number. The chart's size is the number of epochs logged,
	// never the largest epoch number.
	nums := epochNumbers(runs)
	withBars, maxG := 0, 0.0
	for _, r := range runs {
		if len(r.EpochRecords) > 0 {
			withBars++
		}
	}
	if n := len(nums); n > 0 {
		pos := make(map[int]int, n)
		for i, num := range nums {
			pos[num] = i
		}
		contiguous := nums[n-1] == n
		// Bars of all runs share the width of one epoch.
		barW := vg.Points(max(2, min(40, 360/(float64(n)*float64(max(withBars, 1))))))
		k := 0
		for ri, r := range runs {
			if len(r.EpochRecords) == 0 {
				continue
			}
			vals := make(plotter.Values, n)
			for _, e := range r.EpochRecords {
				if i, ok := pos[e.N]; ok {
					vals[i] += e.Grams
					maxG = max(maxG, vals[i])
				}
			}
			b, err := plotter.NewBarChart(vals, barW)
			if err != nil {
				return nil, nil, fmt.Errorf("runlog: plot: %w", err)
			}
			b.XMin = 1
			b.Color = plotutil.Color(ri)
			b.LineStyle.Width = 0
			b.Offset = barW * vg.Length(float64(k)-float64(withBars-1)/2)
			k++
			bottom.Add(b)
			if multi {
				bottom.Legend.Add(r.Name, b)
			} else {
				bottom.Legend.Add("g CO2e in the epoch", b)
			}
		}
		bottom.X.Min, bottom.X.Max = 0.5, float64(n)+0.5
		if maxG > 0 && !math.IsInf(maxG, 0) {
			bottom.Y.Max = maxG * headroom(withBars)
		}
		switch {
		case n <= 30:
			ticks := make([]plot.Tick, 0, n)
			for i, num := range nums {
				ticks = append(ticks, plot.Tick{Value: float64(i + 1), Label: fmt.Sprint(num)})
			}
			bottom.X.Tick.Marker = plot.ConstantTicks(ticks)
		case !contiguous:
			// About ten labelled ticks, at epochs logged.
			step := (n + 9) / 10
			ticks := make([]plot.Tick, 0, 11)
			for i := 0; i < n; i += step {
				ticks = append(ticks, plot.Tick{Value: float64(i + 1), Label: fmt.Sprint(nums[i])})
			}
			bottom.X.Tick.Marker = plot.ConstantTicks(ticks)
		}
	} else {
		bottom.Title.Text += " (no epoch logged)"
	}
	return top, bottom, nil
}

// epochNumbers returns the epoch numbers (from 1) that the runs logged,
// sorted, each once.
func epochNumbers(runs []Run) []int {
	seen := map[int]bool{}
	var out []int
	for _, r := range runs {
		for _, e := range r.EpochRecords {
			if e.N >= 1 && !seen[e.N] {
				seen[e.N] = true
				out = append(out, e.N)
			}
		}
	}
	slices.Sort(out)
	return out
}
