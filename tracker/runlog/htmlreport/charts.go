package htmlreport

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// Chart sizes: 6.5 × 3 inches, 624 × 288 CSS pixels; the page scales them
// to its columns.
const (
	chartWidth  = 6.5 * vg.Inch
	chartHeight = 3 * vg.Inch
)

// MaxPowerPoints is the most points of a power series drawn per run: a
// longer series is merged with runlog.Downsample, its lowest and highest
// power drawn as a band around the mean.
const MaxPowerPoints = 600

// chart is an SVG chart and what the page says about it.
type chart struct {
	// ID identifies the chart in the page; Title is its caption, Alt the
	// text that describes it to those who cannot see it.
	ID, Title, Alt string
	// ViewBox and Body are the SVG's view box and content.
	ViewBox string
	Body    template.HTML
	// Legend is drawn in HTML under the chart; Note says more.
	Legend []legendItem
	Note   string
}

// legendItem is a colour and what it stands for; Kind is how it is drawn:
// "line", "dashed", "band" or "bar".
type legendItem struct {
	Color, Label, Kind string
}

// Colours: the components', as runplot.Plot draws them, then the others.
var (
	kindColors = map[string]color.RGBA{
		"gpu":  {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
		"cpu":  {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
		"dram": {R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	}
	barColor        = color.RGBA{R: 0x4c, G: 0x72, B: 0xb0, A: 0xff}
	projectionColor = color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
	budgetColor     = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	epochLineColor  = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
	intensityColor  = color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}
)

func componentColor(kind string, i int) color.RGBA {
	if c, ok := kindColors[kind]; ok {
		return c
	}
	r, g, b, _ := plotutil.Color(i + 3).RGBA()
	return color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0xff}
}

func translucent(c color.RGBA, a uint8) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: a}
}

func css(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// newPlot returns a plot without title or legend (the page has them), in a
// sans-serif font, with a grid.
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	for _, s := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		s.Font.Typeface, s.Font.Variant = "Liberation", "Sans"
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	return p
}

// drawSVG draws p into c.
func drawSVG(c *chart, p *plot.Plot) error {
	cv := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(cv))
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return fmt.Errorf("htmlreport: chart: %w", err)
	}
	s := buf.String()
	// Keep what is inside the root element: the page writes its own.
	open := strings.Index(s, "<svg")
	if open < 0 {
		return fmt.Errorf("htmlreport: chart: no <svg> element")
	}
	start := open + strings.Index(s[open:], ">") + 1
	end := strings.LastIndex(s, "</svg>")
	if end < start {
		return fmt.Errorf("htmlreport: chart: no </svg>")
	}
	c.ViewBox = fmt.Sprintf("0 0 %g %g", chartWidth.Points(), chartHeight.Points())
	// The SVG is gonum/plot's, whose text it escapes itself.
	c.Body = template.HTML(s[start:end])
	return nil
}

// bars adds vals to p as bars of width w from x = 1, and their legend.
func (c *chart) bars(p *plot.Plot, vals plotter.Values, w vg.Length, label string) error {
	b, err := plotter.NewBarChart(vals, w)
	if err != nil {
		return fmt.Errorf("htmlreport: chart: %w", err)
	}
	b.XMin = 1
	b.Color = barColor
	b.LineStyle.Width = 0
	p.Add(b)
	c.Legend = append(c.Legend, legendItem{Color: css(barColor), Label: label, Kind: "bar"})
	return nil
}

func line(xys plotter.XYs, c color.Color, width vg.Length, dashes ...vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, fmt.Errorf("htmlreport: chart: %w", err)
	}
	l.Color, l.Width, l.Dashes = c, width, dashes
	return l, nil
}

func band(xys plotter.XYs, c color.Color) (*plotter.Polygon, error) {
	pg, err := plotter.NewPolygon(xys)
	if err != nil {
		return nil, fmt.Errorf("htmlreport: chart: %w", err)
	}
	pg.Color = c
	pg.LineStyle.Width = 0
	return pg, nil
}

// powerStep is a component's power from one offset to another.
type powerStep struct {
	from, to          time.Duration
	mean, lowW, highW float64
}

// powerChart draws the devices' power by component: the power series (its
// mean as a line, its lowest and highest power as a band when it has them),
// else each epoch's average power; the epochs' boundaries as vertical
// lines. Nil without either.
func powerChart(id string, r runlog.Run, _ float64) (*chart, error) {
	steps := map[string][]powerStep{}
	var span time.Duration
	c := &chart{ID: id}
	if len(r.Power) > 0 {
		pts := runlog.Downsample(r.Power, MaxPowerPoints)
		start := r.Start
		if start.IsZero() {
			start = r.Power[0].Time.Add(-r.Power[0].Interval)
		}
		for _, p := range pts {
			from, to := max(p.Time.Add(-p.Interval).Sub(start), 0), p.Time.Sub(start)
			for k, w := range p.Watts {
				lo, hi := w, w
				if v, ok := p.Min[k]; ok {
					lo = v
				}
				if v, ok := p.Max[k]; ok {
					hi = v
				}
				steps[k] = append(steps[k], powerStep{from: from, to: to, mean: w, lowW: lo, highW: hi})
			}
			span = max(span, to)
		}
		c.Title = "Power of the devices by component (W, before PUE)"
		c.Note = fmt.Sprintf("%d readings", len(r.Power))
		if len(pts) < len(r.Power) {
			c.Note += fmt.Sprintf(", merged into %d points: the line is the mean power of each, the band the lowest and highest power", len(pts))
		}
		c.Note += "."
	} else {
		for _, e := range r.EpochRecords {
			for k, w := range e.Watts {
				steps[k] = append(steps[k], powerStep{from: e.Offset, to: e.Offset + e.Duration, mean: w, lowW: w, highW: w})
			}
			span = max(span, e.Offset+e.Duration)
		}
		c.Title = "Average power of the devices in each epoch, by component (W, before PUE)"
		c.Note = "No power series was logged: each epoch's average power is drawn."
	}
	if len(steps) == 0 {
		return nil, nil
	}
	unit, unitName := runlog.TimeUnit(span)
	x := func(d time.Duration) float64 { return float64(d) / float64(unit) }
	p := newPlot(fmt.Sprintf("Time since the start of the run (%s)", unitName), "Power (W)")
	maxW := 0.0
	kinds := runlog.SortComponents(keys(steps))
	var alt []string
	for i, k := range kinds {
		col := componentColor(k, i)
		var mean, hi, lo plotter.XYs
		spread := false
		for _, s := range steps[k] {
			mean = append(mean, plotter.XY{X: x(s.from), Y: s.mean}, plotter.XY{X: x(s.to), Y: s.mean})
			hi = append(hi, plotter.XY{X: x(s.from), Y: s.highW}, plotter.XY{X: x(s.to), Y: s.highW})
			lo = append(lo, plotter.XY{X: x(s.from), Y: s.lowW}, plotter.XY{X: x(s.to), Y: s.lowW})
			spread = spread || s.highW != s.lowW
			maxW = max(maxW, s.highW)
		}
		if spread {
			slices.Reverse(lo)
			b, err := band(append(hi, lo...), translucent(col, 0x50))
			if err != nil {
				return nil, err
			}
			p.Add(b)
			c.Legend = append(c.Legend, legendItem{Color: css(col), Label: k + ": lowest to highest", Kind: "band"})
		}
		l, err := line(mean, col, vg.Points(1.5))
		if err != nil {
			return nil, err
		}
		p.Add(l)
		c.Legend = append(c.Legend, legendItem{Color: css(col), Label: k + ": mean", Kind: "line"})
		alt = append(alt, fmt.Sprintf("%s up to %s W", k, num(maxOf(steps[k]))))
	}
	top := max(maxW*1.08, 1)
	p.Y.Max = top
	p.X.Min, p.X.Max = 0, max(x(span), 1e-9)
	if b := boundaries(r); len(b) > 0 {
		for _, d := range b {
			l, err := line(plotter.XYs{{X: x(d), Y: 0}, {X: x(d), Y: top}}, epochLineColor, vg.Points(0.75), vg.Points(3), vg.Points(3))
			if err != nil {
				return nil, err
			}
			p.Add(l)
		}
		c.Legend = append(c.Legend, legendItem{Color: css(epochLineColor), Label: "start or end of an epoch", Kind: "dashed"})
	}
	c.Alt = fmt.Sprintf("Line chart of the power of %s over %s: %s.", strings.Join(kinds, ", "), duration(span), strings.Join(alt, ", "))
	return c, drawSVG(c, p)
}

func maxOf(s []powerStep) float64 {
	m := 0.0
	for _, st := range s {
		m = max(m, st.highW)
	}
	return m
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// boundaries are the offsets at which the run's epochs start and end, each
// once, sorted; none when the log does not place them (every offset 0).
func boundaries(r runlog.Run) []time.Duration {
	seen := map[time.Duration]bool{}
	var out []time.Duration
	placed := false
	for _, e := range r.EpochRecords {
		placed = placed || e.Offset > 0
		for _, d := range []time.Duration{e.Offset, e.Offset + e.Duration} {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	if !placed && len(r.EpochRecords) > 1 {
		return nil
	}
	slices.Sort(out)
	return out
}

// epochChart draws each epoch's emissions as bars, and the projection's
// mean per epoch with its interval. Nil without epochs.
func epochChart(id string, r runlog.Run, _ float64) (*chart, error) {
	n := len(r.EpochRecords)
	if n == 0 {
		return nil, nil
	}
	c := &chart{ID: id, Title: "Emissions of each epoch (g CO2e, PUE included)"}
	p := newPlot("Epoch", "Emissions (g CO2e)")
	vals := make(plotter.Values, n)
	maxG := 0.0
	total := 0.0
	for i, e := range r.EpochRecords {
		vals[i] = e.Grams
		maxG = max(maxG, e.Grams)
		total += e.Grams
	}
	// About 400 points of plot area share the bars.
	w := vg.Points(max(0.5, min(30, 400*0.7/float64(n))))
	if err := c.bars(p, vals, w, "emissions of the epoch"); err != nil {
		return nil, err
	}
	c.Alt = fmt.Sprintf("Bar chart of the emissions of %d epochs, %s in all, at most %s in one.", n, grams(total), grams(maxG))
	if pr := r.Projection; pr != nil && pr.Epochs > 0 {
		per := pr.Grams / float64(pr.Epochs)
		lo, hi := r.ProjectionLowG/float64(pr.Epochs), r.ProjectionHighG/float64(pr.Epochs)
		if hi > lo {
			bd, err := band(plotter.XYs{{X: 0.5, Y: lo}, {X: float64(n) + 0.5, Y: lo}, {X: float64(n) + 0.5, Y: hi}, {X: 0.5, Y: hi}},
				translucent(projectionColor, 0x40))
			if err != nil {
				return nil, err
			}
			p.Add(bd)
			c.Legend = append(c.Legend, legendItem{Color: css(projectionColor), Label: "its 95 % interval", Kind: "band"})
			maxG = max(maxG, hi)
		}
		l, err := line(plotter.XYs{{X: 0.5, Y: per}, {X: float64(n) + 0.5, Y: per}}, projectionColor, vg.Points(1.5), vg.Points(5), vg.Points(3))
		if err != nil {
			return nil, err
		}
		p.Add(l)
		c.Legend = slices.Insert(c.Legend, 1, legendItem{Color: css(projectionColor),
			Label: fmt.Sprintf("projection: %s per epoch (%s for %d epochs)", grams(per), grams(pr.Grams), pr.Epochs), Kind: "dashed"})
		maxG = max(maxG, per)
		c.Alt += fmt.Sprintf(" The projection is %s per epoch.", grams(per))
	}
	p.X.Min, p.X.Max = 0.5, float64(n)+0.5
	p.Y.Max = max(maxG*1.1, 1e-9)
	p.X.Tick.Marker = epochTicks(r.EpochRecords)
	return c, drawSVG(c, p)
}

// epochTicks labels the bars with their epoch numbers: each, or about ten.
func epochTicks(es []runlog.Epoch) plot.Ticker {
	step := max(1, (len(es)+9)/10)
	var ticks []plot.Tick
	for i := 0; i < len(es); i += step {
		ticks = append(ticks, plot.Tick{Value: float64(i + 1), Label: fmt.Sprint(es[i].N)})
	}
	return plot.ConstantTicks(ticks)
}

// cumulativeChart draws the emissions of the epochs added up, the
// projection to the last epoch with its interval, and the budget. Nil
// without epochs.
func cumulativeChart(id string, r runlog.Run, budget float64) (*chart, error) {
	n := len(r.EpochRecords)
	if n == 0 {
		return nil, nil
	}
	c := &chart{ID: id, Title: "Cumulative emissions of the epochs (g CO2e, PUE included)"}
	p := newPlot("Epochs completed", "Emissions (g CO2e)")
	xys := plotter.XYs{{X: 0, Y: 0}}
	sum := 0.0
	for i, e := range r.EpochRecords {
		sum += e.Grams
		xys = append(xys, plotter.XY{X: float64(i + 1), Y: sum})
	}
	top, right := sum, float64(n)
	l, err := line(xys, barColor, vg.Points(2))
	if err != nil {
		return nil, err
	}
	p.Add(l)
	c.Legend = append(c.Legend, legendItem{Color: css(barColor), Label: "emissions so far", Kind: "line"})
	c.Alt = fmt.Sprintf("Line chart of the emissions added up over %d epochs, to %s.", n, grams(sum))
	if pr := r.Projection; pr != nil && pr.Epochs > n {
		end := float64(pr.Epochs)
		if r.ProjectionHighG > r.ProjectionLowG {
			fan, err := band(plotter.XYs{{X: float64(n), Y: sum}, {X: end, Y: r.ProjectionLowG}, {X: end, Y: r.ProjectionHighG}},
				translucent(projectionColor, 0x40))
			if err != nil {
				return nil, err
			}
			p.Add(fan)
			top = max(top, r.ProjectionHighG)
		}
		pl, err := line(plotter.XYs{{X: float64(n), Y: sum}, {X: end, Y: pr.Grams}}, projectionColor, vg.Points(1.5), vg.Points(5), vg.Points(3))
		if err != nil {
			return nil, err
		}
		p.Add(pl)
		c.Legend = append(c.Legend, legendItem{Color: css(projectionColor),
			Label: fmt.Sprintf("projection: %s after %d epochs", grams(pr.Grams), pr.Epochs), Kind: "dashed"})
		if r.ProjectionHighG > r.ProjectionLowG {
			c.Legend = append(c.Legend, legendItem{Color: css(projectionColor),
				Label: fmt.Sprintf("95 %% interval: %s to %s", grams(r.ProjectionLowG), grams(r.ProjectionHighG)), Kind: "band"})
		}
		top, right = max(top, pr.Grams), end
		c.Alt += fmt.Sprintf(" Projected: %s after %d epochs.", grams(pr.Grams), pr.Epochs)
	}
	if budget > 0 {
		if err := addBudget(p, c, budget, 0, right); err != nil {
			return nil, err
		}
		top = max(top, budget)
	}
	p.X.Min, p.X.Max = 0, right
	p.Y.Max = max(top*1.1, 1e-9)
	p.X.Tick.Marker = integerTicks{}
	return c, drawSVG(c, p)
}

// integerTicks marks whole numbers only (epochs), about ten at most.
type integerTicks struct{}

// Ticks returns the ticks between lo and hi.
func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	// The smallest step of 1, 2 or 5 times a power of ten that gives ten
	// ticks or fewer.
	step := 0.0
	for mag := 1.0; step == 0 && mag < 1e15; mag *= 10 {
		for _, s := range []float64{1, 2, 5} {
			if (hi-lo)/(s*mag) <= 10 {
				step = s * mag
				break
			}
		}
	}
	if step == 0 {
		return nil
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ticks
}

func addBudget(p *plot.Plot, c *chart, budget, left, right float64) error {
	l, err := line(plotter.XYs{{X: left, Y: budget}, {X: right, Y: budget}}, budgetColor, vg.Points(1.5), vg.Points(2), vg.Points(2))
	if err != nil {
		return err
	}
	p.Add(l)
	c.Legend = append(c.Legend, legendItem{Color: css(budgetColor), Label: "budget: " + grams(budget), Kind: "dashed"})
	c.Alt += fmt.Sprintf(" The budget is %s.", grams(budget))
	return nil
}

// intensityChart draws each epoch's carbon intensity (its grams over its
// facility energy) over time, and the run's mean. Nil without an epoch
// with energy.
func intensityChart(id string, r runlog.Run, _ float64) (*chart, error) {
	var span time.Duration
	type step struct {
		from, to time.Duration
		g        float64
	}
	var steps []step
	lo, hi := math.Inf(1), 0.0
	for _, e := range r.EpochRecords {
		if !(e.FacilityKWh > 0) {
			continue
		}
		g := e.Grams / e.FacilityKWh
		steps = append(steps, step{from: e.Offset, to: e.Offset + e.Duration, g: g})
		span = max(span, e.Offset+e.Duration)
		lo, hi = min(lo, g), max(hi, g)
	}
	if len(steps) == 0 {
		return nil, nil
	}
	unit, unitName := runlog.TimeUnit(span)
	x := func(d time.Duration) float64 { return float64(d) / float64(unit) }
	c := &chart{ID: id, Title: "Carbon intensity of each epoch (g CO2e/kWh)"}
	p := newPlot(fmt.Sprintf("Time since the start of the run (%s)", unitName), "Intensity (g CO2e/kWh)")
	var xys plotter.XYs
	for _, s := range steps {
		xys = append(xys, plotter.XY{X: x(s.from), Y: s.g}, plotter.XY{X: x(s.to), Y: s.g})
	}
	l, err := line(xys, intensityColor, vg.Points(2))
	if err != nil {
		return nil, err
	}
	p.Add(l)
	c.Legend = append(c.Legend, legendItem{Color: css(intensityColor), Label: "epoch's emissions / its facility energy", Kind: "line"})
	top := hi
	if r.Intensity > 0 {
		ml, err := line(plotter.XYs{{X: 0, Y: r.Intensity}, {X: max(x(span), 1e-9), Y: r.Intensity}}, projectionColor, vg.Points(1), vg.Points(5), vg.Points(3))
		if err != nil {
			return nil, err
		}
		p.Add(ml)
		c.Legend = append(c.Legend, legendItem{Color: css(projectionColor), Label: "the run's mean: " + num(r.Intensity) + " g CO2e/kWh", Kind: "dashed"})
		top = max(top, r.Intensity)
	}
	p.X.Min, p.X.Max = 0, max(x(span), 1e-9)
	p.Y.Max = max(top*1.15, 1e-9)
	if r.Format == runlog.FormatCarbontracker {
		c.Note = "A log pair has no emissions per epoch: each epoch's are its energy × the run's mean intensity."
	}
	c.Alt = fmt.Sprintf("Line chart of the carbon intensity of %d epochs, from %s to %s g CO2e/kWh.", len(steps), num(lo), num(hi))
	return c, drawSVG(c, p)
}

// totalChart draws each run's emissions as bars, their running sum, and
// the budget.
func totalChart(runs []runlog.Run, budget float64) (*chart, error) {
	c := &chart{ID: "total-c1", Title: "Emissions of each run and their running total (g CO2e, PUE included)"}
	p := newPlot("Run (numbered as in the overview)", "Emissions (g CO2e)")
	vals := make(plotter.Values, len(runs))
	var cum plotter.XYs
	sum := 0.0
	var ticks []plot.Tick
	for i, r := range runs {
		vals[i] = r.Used.Grams
		sum += r.Used.Grams
		cum = append(cum, plotter.XY{X: float64(i + 1), Y: sum})
		ticks = append(ticks, plot.Tick{Value: float64(i + 1), Label: fmt.Sprint(i + 1)})
	}
	if len(runs) > 30 {
		ticks = nil
	}
	if err := c.bars(p, vals, vg.Points(max(1, min(30, 400*0.6/float64(len(runs))))), "emissions of the run"); err != nil {
		return nil, err
	}
	l, pts, err := plotter.NewLinePoints(cum)
	if err != nil {
		return nil, fmt.Errorf("htmlreport: chart: %w", err)
	}
	l.Color, l.Width = intensityColor, vg.Points(2)
	pts.Color, pts.Shape, pts.Radius = intensityColor, draw.CircleGlyph{}, vg.Points(3)
	p.Add(l, pts)
	c.Legend = append(c.Legend, legendItem{Color: css(intensityColor), Label: "running total after each run, " + grams(sum) + " in all", Kind: "line"})
	c.Alt = fmt.Sprintf("Bar chart of the emissions of %d runs, %s in all.", len(runs), grams(sum))
	right := float64(len(runs)) + 0.5
	top := sum
	if budget > 0 {
		if err := addBudget(p, c, budget, 0.5, right); err != nil {
			return nil, err
		}
		top = max(top, budget)
	}
	p.X.Min, p.X.Max = 0.5, right
	p.Y.Max = max(top*1.1, 1e-9)
	if ticks != nil {
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	return c, drawSVG(c, p)
}
