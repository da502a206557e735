package runplot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/carbontrack/carbontrack/tracker/runlog"
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
func PlotFile(path string, runs []runlog.Run) error {
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

// Plot draws two charts, one above the other, and a legend below them,
// and writes them to w as format "png" or "svg" (PlotWidth × PlotHeight):
// the devices' power (W, before PUE) by component over the time since each
// run's start, and the emissions of each epoch (g CO2e, PUE included) as
// bars. The power comes from the run's power series when it has one
// (runlog.Run.Power: a step per point, at the series' resolution, with a
// light band from the lowest to the highest power read where the points
// give them; a series of more than maxPlotPoints points is merged to that
// many with runlog.Downsample), else each epoch's average power as a step;
// epoch boundaries are thin vertical lines. With one run the components
// have colours of their own; with several, each run has a colour, the same
// in both charts, and the components are told apart by dashes. Runs are
// named by runlog.RunLabels. It returns ErrNothingToPlot when no run has
// power or epochs.
func Plot(w io.Writer, format string, runs []runlog.Run) error {
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(PlotWidth, PlotHeight)}
	case "svg":
		c = vgsvg.New(PlotWidth, PlotHeight)
	default:
		return fmt.Errorf("runlog: plot: unknown format %q: use png or svg", format)
	}
	f, err := charts(runs)
	if err != nil {
		return err
	}
	f.draw(draw.New(c))
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("runlog: plot: %w", err)
	}
	return nil
}

// maxPlotPoints is the most points of a run's power series drawn: more are
// merged (runlog.Downsample), keeping their energy and their range.
const maxPlotPoints = 2000

// maxBoundaries is the most epoch boundaries drawn for a run: a run of
// more epochs has none drawn (they would fill the chart).
const maxBoundaries = 500

// runColors are the runs' colours when there are several (Tableau 10), in
// the order of the runs, repeated past ten.
var runColors = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, {R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, {R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, {R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// oneRunColor is the bars' colour of a single run (its components have
// the line colours).
var oneRunColor = color.RGBA{R: 0x5a, G: 0x6b, B: 0x7b, A: 0xff}

// kindDashes are the components' dashes when the runs have the colours.
var kindDashes = map[string][]vg.Length{
	"gpu":  nil,
	"cpu":  {vg.Points(6), vg.Points(3)},
	"dram": {vg.Points(1.5), vg.Points(2.5)},
}

func runColor(i int) color.RGBA { return runColors[i%len(runColors)] }

// light returns c with alpha a (premultiplied, as color.RGBA is).
func light(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	f := float64(a) / 0xff
	return color.RGBA{R: uint8(float64(r>>8) * f), G: uint8(float64(g>>8) * f), B: uint8(float64(b>>8) * f), A: a}
}

// series is one step line: a run's component.
type series struct {
	kind   string
	runIdx int
	// steps are [from, to) offsets from the run's start with a power and
	// the range of the powers read (lo = hi = watts without one).
	steps []step
	// ranged: some step has a range.
	ranged bool
}

type step struct {
	from, to      time.Duration
	watts, lo, hi float64
}

// finite says whether every v is a finite number.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func powerSeries(runs []runlog.Run) ([]series, time.Duration) {
	var out []series
	var span time.Duration
	for ri, r := range runs {
		byKind := map[string]*series{}
		add := func(kind string, s step) {
			if !finite(s.watts, s.lo, s.hi) || s.to < s.from {
				return
			}
			ser := byKind[kind]
			if ser == nil {
				ser = &series{kind: kind, runIdx: ri}
				byKind[kind] = ser
			}
			ser.ranged = ser.ranged || s.lo < s.hi
			ser.steps = append(ser.steps, s)
			span = max(span, s.to)
		}
		if len(r.Power) > 0 {
			pts := runlog.Downsample(r.Power, maxPlotPoints)
			start := r.Start
			if start.IsZero() {
				start = pts[0].Time.Add(-pts[0].Interval)
			}
			for _, p := range pts {
				from, to := p.Time.Add(-p.Interval).Sub(start), p.Time.Sub(start)
				for _, k := range runlog.SortComponents(keys(p.Watts)) {
					w := p.Watts[k]
					lo, hi := w, w
					if v, ok := p.Min[k]; ok {
						lo = min(v, w)
					}
					if v, ok := p.Max[k]; ok {
						hi = max(v, w)
					}
					add(k, step{from: max(from, 0), to: to, watts: w, lo: lo, hi: hi})
				}
			}
		} else {
			for _, e := range r.EpochRecords {
				for _, k := range runlog.SortComponents(keys(e.Watts)) {
					w := e.Watts[k]
					add(k, step{from: e.Offset, to: e.Offset + e.Duration, watts: w, lo: w, hi: w})
				}
			}
		}
		for _, k := range runlog.SortComponents(keys(byKind)) {
			out = append(out, *byKind[k])
		}
	}
	return out, span
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// boundaries returns the run's epoch boundaries (starts and ends, each
// once) since its start; none past maxBoundaries.
func boundaries(r *runlog.Run) []time.Duration {
	var out []time.Duration
	for _, e := range r.EpochRecords {
		for _, d := range []time.Duration{e.Offset, e.Offset + e.Duration} {
			if d >= 0 && (len(out) == 0 || out[len(out)-1] != d) {
				out = append(out, d)
			}
		}
		if len(out) > maxBoundaries {
			return nil
		}
	}
	return out
}

// vlines draws vertical lines across a chart at X values inside its range;
// it takes no part in the chart's range.
type vlines struct {
	xs    []float64
	style draw.LineStyle
}

// Plot implements plot.Plotter.
func (v *vlines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, x := range v.xs {
		if x < p.X.Min || x > p.X.Max {
			continue
		}
		c.StrokeLine2(v.style, trX(x), c.Min.Y, trX(x), c.Max.Y)
	}
}

// Thumbnail implements plot.Thumbnailer.
func (v *vlines) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

// plainTicks are plot.DefaultTicks with their labels as short as their
// values allow ("25", not "25.00").
type plainTicks struct{}

// Ticks implements plot.Ticker.
func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if v, err := strconv.ParseFloat(ts[i].Label, 64); ts[i].Label != "" && err == nil {
			ts[i].Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ts
}

// swatch is a legend's square of a colour.
type swatch struct{ color color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	h := c.Max.Y - c.Min.Y
	x0 := c.Min.X + (c.Max.X-c.Min.X-h)/2
	c.FillPolygon(s.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x0 + h, Y: c.Min.Y}, {X: x0 + h, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
}

// band is a legend's thumbnail of a range band behind a line.
type band struct {
	fill color.Color
	line draw.LineStyle
}

// Thumbnail implements plot.Thumbnailer.
func (b band) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.fill, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(b.line, c.Min.X, y, c.Max.X, y)
}

// legendEntry is an entry of the legend below the charts.
type legendEntry struct {
	text  string
	thumb plot.Thumbnailer
}

// figure is what Plot draws: the charts and the legend's two blocks, the
// runs (their colours) and the keys (the components, the band, the epoch
// boundaries).
type figure struct {
	top, bottom *plot.Plot
	runs, keys  []legendEntry
}

func charts(runs []runlog.Run) (*figure, error) {
	sers, span := powerSeries(runs)
	nEpochs := 0
	for i := range runs {
		nEpochs += len(runs[i].EpochRecords)
		if b := boundaries(&runs[i]); len(b) > 0 {
			span = max(span, b[len(b)-1])
		}
	}
	if len(sers) == 0 && nEpochs == 0 {
		return nil, ErrNothingToPlot
	}
	multi := len(runs) > 1
	labels := runlog.RunLabels(runs)
	f := &figure{}

	unit, unitName := runlog.TimeUnit(span)
	top := plot.New()
	top.Title.Text = "Power draw of the devices by component (before PUE)"
	if len(sers) == 0 {
		top.Title.Text += " (no power data)"
	}
	process := 0
	for _, r := range runs {
		if r.Scope == runlog.ScopeProcess {
			process++
		}
	}
	switch {
	case process == len(runs) && process == 1:
		top.Title.Text += "\nA process tree's share of the devices, not the whole machine"
	case process == len(runs):
		top.Title.Text += "\nEach run: a process tree's share of the devices, not the whole machine"
	case process > 0:
		top.Title.Text += "\nMixed scopes: runs marked (process share) count a process tree's share, the others the machine"
	}
	top.X.Label.Text = fmt.Sprintf("Time since the start of the run (%s)", unitName)
	top.Y.Label.Text = "Power (W)"
	top.Y.Min = 0
	top.X.Tick.Marker, top.Y.Tick.Marker = plainTicks{}, plainTicks{}
	top.Add(plotter.NewGrid())
	maxW := 0.0
	lineStyle := func(s *series, i int) draw.LineStyle {
		st := draw.LineStyle{Width: vg.Points(1.5)}
		if multi {
			st.Color = runColor(s.runIdx)
			d, ok := kindDashes[s.kind]
			if !ok {
				d = plotutil.Dashes(i + 3)
			}
			st.Dashes = d
		} else {
			st.Color = kindColors[s.kind]
			if st.Color == nil {
				st.Color = plotutil.Color(i)
			}
		}
		return st
	}
	ranged := false
	keyed := map[string]bool{}
	// The bands first, under every line.
	for i := range sers {
		s := &sers[i]
		if !s.ranged {
			continue
		}
		ranged = true
		var ring plotter.XYs
		for _, st := range s.steps {
			ring = append(ring, plotter.XY{X: float64(st.from) / float64(unit), Y: st.hi},
				plotter.XY{X: float64(st.to) / float64(unit), Y: st.hi})
			maxW = max(maxW, st.hi)
		}
		for j := len(s.steps) - 1; j >= 0; j-- {
			st := s.steps[j]
			ring = append(ring, plotter.XY{X: float64(st.to) / float64(unit), Y: st.lo},
				plotter.XY{X: float64(st.from) / float64(unit), Y: st.lo})
		}
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return nil, fmt.Errorf("runlog: plot: %w", err)
		}
		alpha := uint8(0x40)
		if multi {
			alpha = 0x20 // the runs' bands overlap
		}
		poly.Color = light(lineStyle(s, i).Color, alpha)
		poly.LineStyle.Width = 0
		top.Add(poly)
	}
	for i := range sers {
		s := &sers[i]
		var xys plotter.XYs
		for _, st := range s.steps {
			xys = append(xys,
				plotter.XY{X: float64(st.from) / float64(unit), Y: st.watts},
				plotter.XY{X: float64(st.to) / float64(unit), Y: st.watts})
			maxW = max(maxW, st.watts)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("runlog: plot: %w", err)
		}
		l.LineStyle = lineStyle(s, i)
		top.Add(l)
		if !keyed[s.kind] {
			keyed[s.kind] = true
			key := l.LineStyle
			if multi {
				key.Color = color.Gray{Y: 0x33}
			}
			f.keys = append(f.keys, legendEntry{text: s.kind, thumb: &plotter.Line{LineStyle: key}})
		}
	}
	if ranged {
		f.keys = append(f.keys, legendEntry{text: "lowest to highest power read",
			thumb: band{fill: color.Gray{Y: 0xd8}, line: draw.LineStyle{Color: color.Gray{Y: 0x33}, Width: vg.Points(1.5)}}})
	}
	top.Y.Max = max(maxW*1.05, 1)

	// Epoch boundaries: thin lines, in the run's colour when there are
	// several.
	epochStyle := draw.LineStyle{Color: color.Gray{Y: 0x80}, Width: vg.Points(0.5), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}
	drawn := false
	for ri := range runs {
		b := boundaries(&runs[ri])
		if len(b) == 0 {
			continue
		}
		v := &vlines{style: epochStyle}
		if multi {
			v.style.Color = light(runColor(ri), 0xb0)
		}
		for _, d := range b {
			v.xs = append(v.xs, float64(d)/float64(unit))
		}
		top.Add(v)
		drawn = true
	}
	if drawn {
		key := draw.LineStyle{Color: color.Gray{Y: 0x60}, Width: vg.Points(1)}
		f.keys = append(f.keys, legendEntry{text: "epoch boundaries", thumb: &vlines{style: key}})
	}

	bottom := plot.New()
	bottom.Title.Text = "Emissions per epoch (g CO2e, PUE included)"
	bottom.X.Label.Text = "Epoch"
	bottom.Y.Label.Text = "Emissions (g CO2e)"
	bottom.Y.Min = 0
	bottom.Y.Tick.Marker = plainTicks{}
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
	barColor := func(ri int) color.Color {
		if multi {
			return runColor(ri)
		}
		return oneRunColor
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
				if i, ok := pos[e.N]; ok && finite(e.Grams) {
					vals[i] += e.Grams
					maxG = max(maxG, vals[i])
				}
			}
			b, err := plotter.NewBarChart(vals, barW)
			if err != nil {
				return nil, fmt.Errorf("runlog: plot: %w", err)
			}
			b.XMin = 1
			b.Color = barColor(ri)
			b.LineStyle.Width = 0
			b.Offset = barW * vg.Length(float64(k)-float64(withBars-1)/2)
			k++
			bottom.Add(b)
		}
		bottom.X.Min, bottom.X.Max = 0.5, float64(n)+0.5
		if maxG > 0 && !math.IsInf(maxG, 0) {
			bottom.Y.Max = maxG * 1.05
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
	for ri := range runs {
		text := labels[ri]
		if !multi {
			text = "run: " + text
		}
		f.runs = append(f.runs, legendEntry{text: text, thumb: swatch{color: barColor(ri)}})
	}
	f.top, f.bottom = top, bottom
	return f, nil
}

// legendFont is the legend's font size (points).
const legendFont = 10

// draw draws the charts above the legend, which takes the height its
// entries need, in as many columns as their widest text allows.
func (f *figure) draw(dc draw.Canvas) {
	pad := vg.Points(6)
	dc = draw.Crop(dc, pad, -vg.Points(12), pad, -pad)
	width := dc.Max.X - dc.Min.X
	proto := plot.NewLegend()
	proto.TextStyle.Font.Size = vg.Points(legendFont)
	proto.Left, proto.Top = true, true
	proto.ThumbnailWidth = vg.Points(22)
	rowH := proto.TextStyle.Rectangle("Xg").Max.Y + vg.Points(4)
	layout := func(es []legendEntry) (cols, rows int) {
		if len(es) == 0 {
			return 1, 0
		}
		var widest vg.Length
		for _, e := range es {
			widest = max(widest, proto.TextStyle.Rectangle(e.text).Max.X)
		}
		cell := proto.ThumbnailWidth + widest + vg.Points(18)
		cols = max(1, min(len(es), int(width/cell), 4))
		return cols, (len(es) + cols - 1) / cols
	}
	kc, kr := layout(f.keys)
	rc, rr := layout(f.runs)
	legendH := vg.Length(kr+rr)*rowH + vg.Points(8)
	// At most half the height for the legend (a run's label is cut to
	// maxLabel, so only very many runs come near).
	legendH = min(legendH, (dc.Max.Y-dc.Min.Y)/2)

	chartsC := draw.Crop(dc, 0, 0, legendH, 0)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(18)}
	cs := plot.Align([][]*plot.Plot{{f.top}, {f.bottom}}, tiles, chartsC)
	f.top.Draw(cs[0][0])
	f.bottom.Draw(cs[1][0])

	y := dc.Min.Y + legendH - vg.Points(4)
	block := func(es []legendEntry, cols, rows int) {
		for c := range cols {
			l := proto
			for i := c * rows; i < min(len(es), (c+1)*rows); i++ {
				l.Add(es[i].text, es[i].thumb)
			}
			cell := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: dc.Min.X + width*vg.Length(c)/vg.Length(cols), Y: max(dc.Min.Y, y-vg.Length(rows)*rowH)},
				Max: vg.Point{X: dc.Min.X + width*vg.Length(c+1)/vg.Length(cols), Y: y}}}
			l.Padding = rowH - l.TextStyle.Rectangle("Xg").Max.Y
			l.Draw(cell)
		}
		y -= vg.Length(rows) * rowH
	}
	block(f.keys, kc, kr)
	block(f.runs, rc, rr)
}

// epochNumbers returns the epoch numbers (from 1) that the runs logged,
// sorted, each once.
func epochNumbers(runs []runlog.Run) []int {
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
