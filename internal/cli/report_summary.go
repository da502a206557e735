package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/records"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// The summary: a paragraph per run, and one for the total when there are
// several runs, each self-contained, to paste into a paper. Every figure
// comes from the logs; what they do not say is said to be not recorded.

// nbsp joins a number to its unit: no line break there, "~" in LaTeX.
const nbsp = "\u00a0"

// What the summary cites.
const (
	// carbontrackHome is where carbontrack is published (its module path).
	carbontrackHome = "https://github.com/carbontrack/carbontrack"
	// carbontrackerHome is where the Python carbontracker is published.
	carbontrackerHome = "https://github.com/lfwa/carbontracker"
	// carbontrackerPaper is the method carbontrack follows and
	// carbontracker implements (arXiv:2007.03051).
	carbontrackerPaper = "Anthony, L. F. W., Kanding, B. and Selvan, R. (2020). Carbontracker: Tracking and " +
		"Predicting the Carbon Footprint of Training Deep Learning Models. arXiv:2007.03051."
	// carbontrackerShort cites carbontrackerPaper in the prose.
	carbontrackerShort = "Anthony, Kanding and Selvan, 2020, arXiv:2007.03051"
	// noZoneFrom is what a log's zone_from says when no zone was given or
	// found and the world average was counted (factor's LocatedDefault).
	noZoneFrom = "no zone given or found"
)

// piece is a part of a paragraph: prose or data, or a figure in bold.
type piece struct {
	text string
	bold bool
}

// para is a paragraph of the summary: a title, its prose and the sources
// to cite with it.
type para struct {
	title   string
	body    []piece
	sources []string
}

// say adds prose (format and args as fmt.Sprintf; no args: the text as it
// is).
func (p *para) say(format string, args ...any) {
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	p.body = append(p.body, piece{text: format})
}

// fig adds a figure, in bold where the format has it.
func (p *para) fig(s string) { p.body = append(p.body, piece{text: s, bold: true}) }

// cite adds a source, once.
func (p *para) cite(s string) {
	if !slices.Contains(p.sources, s) {
		p.sources = append(p.sources, s)
	}
}

// writeSummary writes a paragraph per run and one for the total, to paste
// into a paper, in format "text", "markdown" or "latex".
func writeSummary(w io.Writer, format string, runs []runlog.Run, total runlog.Total) error {
	var paras []para
	for _, r := range runs {
		paras = append(paras, runPara(r))
	}
	if len(runs) > 1 {
		paras = append(paras, totalPara(runs, total, paras))
	}
	bw := bufio.NewWriter(w)
	for i, p := range paras {
		if i > 0 {
			bw.WriteString("\n")
		}
		switch format {
		case "markdown":
			writeMarkdown(bw, p)
		case "latex":
			writeLaTeX(bw, p)
		default:
			writeText(bw, p)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	return nil
}

// runPara describes one run.
func runPara(r runlog.Run) para {
	name := r.Name
	if r.Label != "" {
		// A command line may span lines: one line here.
		name = "\u201c" + strings.Join(strings.Fields(r.Label), " ") + "\u201d"
	}
	p := para{title: "Run " + name}
	p.say("Run %s", name)
	var ids []string
	if r.Label != "" {
		ids = append(ids, "logs "+r.Name)
	}
	if w := r.Whose(); w != "" {
		ids = append(ids, w)
	}
	if len(ids) > 0 {
		p.say(" (%s)", strings.Join(ids, ", "))
	}
	if !r.Start.IsZero() {
		p.say(" started on %s", when(r.Start))
	}
	sayStatus(&p, r)
	if r.Basis != runlog.BasisNone {
		sayEnergy(&p, r)
	}
	sayHardware(&p, r)
	sayIntensity(&p, r)
	if r.Work > 0 {
		unit := r.WorkUnit
		if unit == "" {
			unit = "units of work"
		}
		p.say(" Its epochs processed ")
		p.fig(estimate.FormatNumber(r.Work) + nbsp + unit)
		p.say(".")
	}
	sayTool(&p, r)
	return p
}

// sayStatus says how the run went and what its figures cover.
func sayStatus(p *para, r runlog.Run) {
	c, of := r.Completed, epochsOf(r.Completed, r.Epochs)
	d := duration(r.Used.Duration)
	switch r.Basis {
	case runlog.BasisRun:
		switch {
		case c == 0:
			p.say(", ran for %s and ended without completing an epoch (%s): it failed or was stopped early. "+
				"The figures cover everything it drew until then.", d, epochsAnnounced(r.Epochs))
		case r.Interrupted:
			p.say(" and was stopped after %s, after %s. The figures cover the whole run, the interrupted epoch included.", of, d)
		default:
			p.say(" and ran for %s, completing %s. The figures cover the whole run, time outside the epochs included.", d, of)
		}
	case runlog.BasisCheckpoint:
		p.say(", but its end was not logged: the run was killed (or is still running). "+
			"The figures are up to its last checkpoint at %s, after %s, when %s had completed.", when(r.CheckpointAt), d, of)
	case runlog.BasisActual:
		if r.Interrupted {
			p.say(" and was stopped early after %s.", of)
		} else {
			p.say(" and completed %s.", of)
		}
		p.say(" The figures are carbontracker's actual consumption: the %d completed epochs (%s), not the time outside them.", r.Used.Epochs, d)
	case runlog.BasisProjection:
		if r.Actual != nil {
			p.say(" and was monitored for %d of %d epochs.", r.Actual.Epochs, r.Used.Epochs)
		} else {
			p.say(", but its log ends after %s without the actual consumption: the run was killed (or is still running).", of)
		}
		p.say(" The figures are carbontracker's projection for all %d epochs (%s), not a measurement.", r.Used.Epochs, d)
	case runlog.BasisMeasured:
		p.say(". Neither an actual consumption nor a projection was logged: the figures are the sum of the %d epochs logged (%s).", r.Used.Epochs, d)
	default:
		p.say(". Nothing that can be counted was logged (no epoch ended).")
	}
}

// sayEnergy says the run's energy, PUE and emissions, with the
// projection's interval where there is one.
func sayEnergy(p *para, r runlog.Run) {
	p.say(" It used ")
	p.fig(energy(r.Used.FacilityKWh))
	p.say(" of facility energy")
	switch {
	case r.PUE <= 0:
		p.say(" (the PUE is not recorded)")
	case r.Used.DeviceKnown:
		p.say(" (the devices' ")
		p.fig(energy(r.Used.DeviceKWh))
		p.say(" × a PUE of %s)", estimate.FormatNumber(r.PUE))
	default:
		p.say(" (PUE %s included; the devices' energy before PUE is not recorded)", estimate.FormatNumber(r.PUE))
	}
	p.say(" and emitted ")
	p.fig(mass(r.Used.Grams))
	if r.Basis == runlog.BasisProjection {
		sayInterval(p, r)
	}
	p.say(".")
	if r.PUE == records.DefaultPUE {
		p.say(" The PUE is the default, the average annual PUE of the Uptime Institute Global Data Center Survey 2023, as carbontracker uses.")
	} else if r.PUE > 0 {
		p.say(" The PUE was set for the run (the default is %s).", estimate.FormatNumber(records.DefaultPUE))
	}
	if r.Basis == runlog.BasisCheckpoint && r.Projection != nil {
		p.say(" The last projection, for all %d epochs, was ", r.Projection.Epochs)
		p.fig(mass(r.Projection.Grams))
		sayInterval(p, r)
		p.say(".")
	}
}

// sayInterval says the 95 % interval of the run's projection.
func sayInterval(p *para, r runlog.Run) {
	switch lo, hi := r.ProjectionLowG, r.ProjectionHighG; {
	case lo <= 0 && hi <= 0:
		p.say(" (no interval recorded)")
	case hi > lo:
		p.say(" (95 %% interval %s)", massRange(lo, hi))
	default:
		p.say(" (no interval: the epochs measured give no spread)")
	}
}

// deviceGroup is the devices of one kind, model and method.
type deviceGroup struct {
	kind, model, method string
	n                   int
}

// sayHardware says what was measured, and how.
func sayHardware(p *para, r runlog.Run) {
	if len(r.Devices) == 0 {
		if len(r.Components) == 0 {
			p.say(" The devices measured are not recorded.")
		} else {
			p.say(" The components measured were %s; the device models, their counts and how each was measured are not recorded.",
				andList(upper(r.Components)))
		}
	} else {
		var groups []deviceGroup
		for _, d := range r.Devices {
			model := d.Model
			if model == "" {
				model = d.Name
			}
			i := slices.IndexFunc(groups, func(g deviceGroup) bool {
				return g.kind == d.Kind && g.model == model && g.method == d.Method
			})
			if i < 0 {
				groups = append(groups, deviceGroup{kind: d.Kind, model: model, method: d.Method})
				i = len(groups) - 1
			}
			groups[i].n++
		}
		var parts, estimated []string
		for _, g := range groups {
			parts = append(parts, fmt.Sprintf("%d × %s (%s, %s)", g.n, g.model, strings.ToUpper(g.kind), methodText(g.kind, g.method)))
			if g.method == "estimated" && !slices.Contains(estimated, strings.ToUpper(g.kind)) {
				estimated = append(estimated, strings.ToUpper(g.kind))
			}
		}
		p.say(" The energy is that of %s.", andList(parts))
		switch {
		case len(estimated) > 0 && r.EmissionsHighG > r.EmissionsLowG:
			p.say(" The %s figures are estimates from a model, not measurements (%s): with that uncertainty the run's emissions are %s (half of such estimates lay within it when checked against measurements).",
				andList(estimated), r.EmissionsUncertainty, massRange(r.EmissionsLowG, r.EmissionsHighG))
		case len(estimated) > 0:
			p.say(" The %s figures are estimates from a model, not measurements: they are uncertain, by an amount not quantified.", andList(estimated))
		}
	}
	switch r.Scope {
	case tracker.ScopeMachine:
		p.say(" The figures cover the whole machine's devices.")
	case tracker.ScopeProcess:
		p.say(" The figures are the monitored process tree's share of the devices, not the whole machine's energy.")
	default:
		p.say(" Whether the figures cover the whole machine or one process's share is not recorded.")
	}
	if n := len(r.MeasuredElsewhere); n > 0 {
		var names []string
		for _, e := range r.MeasuredElsewhere {
			names = append(names, e.Name)
		}
		p.say(" %s of the machine, counted in another run's log, %s not included.", plural(n, "device", "devices")+" ("+strings.Join(names, ", ")+")",
			map[bool]string{true: "is", false: "are"}[n == 1])
	}
	if r.SharingNote != "" {
		p.say(" The machine's devices may have been counted twice: %s.", strings.TrimSuffix(r.SharingNote, "."))
	}
}

// methodText says how a device's energy was known.
func methodText(kind, method string) string {
	switch method {
	case "counter":
		return "measured by its energy counter"
	case "sampled":
		return "measured by sampling its power"
	case "estimated":
		switch kind {
		case "cpu":
			return "estimated from the CPU load and TDP"
		case "dram":
			return "estimated from the memory size"
		}
		return "estimated"
	case "declared":
		return "a declared power, not measured"
	case "":
		return "method not recorded"
	}
	return method
}

// sayIntensity says the carbon intensity, its zone, how the zone was
// found, and its source.
func sayIntensity(p *para, r runlog.Run) {
	if r.Used.FacilityKWh <= 0 {
		return
	}
	if r.Intensity <= 0 {
		// carbontracker's logs, and a run without its final record: the
		// intensity is what the figures imply.
		p.say(" The emissions correspond to a mean carbon intensity of ")
		p.fig(intensity(r.Used.Grams / r.Used.FacilityKWh))
		p.say(" (the emissions over the facility energy)")
		if r.Format == runlog.FormatCarbontrack {
			p.say("; the zone and the intensity's source are not recorded (the run's final record, which has them, was not written)")
		} else {
			p.say("; the zone and the intensity's source are not recorded in a form carbontrack reads")
		}
		p.say(".")
		return
	}
	p.say(" The carbon intensity was ")
	p.fig(intensity(r.Intensity))
	p.say(" (the run's mean)")
	switch {
	case r.Zone == "":
	case r.ZoneFrom == noZoneFrom:
		p.say(" for %s: no zone was given or found", r.Zone)
	case r.ZoneFrom != "":
		p.say(" for zone %s, found from %s", r.Zone, r.ZoneFrom)
	default:
		p.say(" for zone %s (how the zone was found is not recorded)", r.Zone)
	}
	switch {
	case r.IntensityProvider == "fixed":
		p.say(", a fixed value given for the run")
	case r.IntensityYear > 0:
		p.say(", the %d annual average", r.IntensityYear)
	case r.IntensityProvider != "":
		p.say(", live values")
	}
	if r.IntensityProvider != "" && r.IntensityProvider != "fixed" {
		p.say(" from %s", providerName(r.IntensityProvider))
	}
	if r.IntensitySource != "" && r.IntensitySource != "fixed value" {
		p.say(" (source: %s)", strings.TrimSuffix(r.IntensitySource, "."))
		p.cite("Carbon intensity: " + strings.TrimSuffix(r.IntensitySource, ".") + ".")
	}
	p.say(".")
	if r.IntensityFallback != "" {
		p.say(" The provider asked for did not answer: %s.", strings.TrimSuffix(r.IntensityFallback, "."))
	}
}

// sayTool says what measured the run, and cites it.
func sayTool(p *para, r runlog.Run) {
	self := "carbontrack " + tracker.Version
	if r.Format == runlog.FormatCarbontrack {
		p.say(" Measured with %s, which follows carbontracker's method (%s).", self, carbontrackerShort)
		p.cite(self + ", " + carbontrackHome + ".")
		p.cite(carbontrackerPaper)
		return
	}
	switch tool, version := pairTool(r); tool {
	case "carbontracker":
		p.say(" Measured with carbontracker %s (%s); read with %s.", version, carbontrackerShort, self)
		p.cite("carbontracker " + version + ", " + carbontrackerHome + ".")
		p.cite(carbontrackerPaper)
		p.cite(self + ", " + carbontrackHome + ".")
	case "carbontrack":
		p.say(" Measured with carbontrack %s, which follows carbontracker's method (%s).", version, carbontrackerShort)
		p.cite("carbontrack " + version + ", " + carbontrackHome + ".")
		p.cite(carbontrackerPaper)
	default:
		p.say(" Measured with carbontracker's method (%s); the log does not say which tool or version wrote it; read with %s.", carbontrackerShort, self)
		p.cite(carbontrackerPaper)
		p.cite(self + ", " + carbontrackHome + ".")
	}
}

// reVersion matches the first line of a carbontracker log pair's standard
// log: "2024-03-05 14:02:11 - carbontracker version 2.0.0".
var reVersion = lazyRegexp(`^\S+ \S+ - (carbontracker|carbontrack) version (\S+)`)

// pairTool reads which tool and version wrote a run's log pair, from the
// first line of its standard log; "" when it does not say.
func pairTool(r runlog.Run) (tool, version string) {
	for _, f := range r.Files {
		if !strings.HasSuffix(f, runlog.SuffixStdLog) {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			return "", ""
		}
		defer fh.Close()
		line, _ := bufio.NewReader(io.LimitReader(fh, 4096)).ReadString('\n')
		if m := reVersion().FindStringSubmatch(line); m != nil {
			return m[1], m[2]
		}
	}
	return "", ""
}

// totalPara sums the runs up; paras are their paragraphs, whose sources it
// cites.
func totalPara(runs []runlog.Run, t runlog.Total, paras []para) para {
	p := para{title: "Total"}
	var nodes []string
	var ranks int
	noNode := 0
	for _, r := range runs {
		switch {
		case r.Node == "":
			noNode++
		case !slices.Contains(nodes, r.Node):
			nodes = append(nodes, r.Node)
		}
		if r.Rank >= 0 {
			ranks++
		}
	}
	p.say("In total, the %s ran for ", plural(t.Runs, "run", "runs"))
	p.fig(duration(t.Used.Duration))
	p.say(" together and completed %s.", plural(t.Completed, "epoch", "epochs"))
	p.say(" They used ")
	p.fig(energy(t.Used.FacilityKWh))
	p.say(" of facility energy, PUE included")
	switch {
	case t.Used.DeviceKnown:
		p.say(" (the devices' ")
		p.fig(energy(t.Used.DeviceKWh))
		p.say(" before PUE)")
	case t.DeviceRuns > 0:
		p.say(" (the devices' %s before PUE in the %d of %d runs whose logs say)", energy(t.Used.DeviceKWh), t.DeviceRuns, t.Runs)
	default:
		p.say(" (the devices' energy before PUE is not recorded)")
	}
	p.say(", and emitted ")
	p.fig(mass(t.Used.Grams))
	if t.Used.FacilityKWh > 0 {
		p.say(", a mean of %s", intensity(t.Used.Grams/t.Used.FacilityKWh))
	}
	if len(nodes) > 0 {
		p.say(". This sums %s over %s", plural(t.Runs, "run", "runs"), plural(len(nodes), "node", "nodes"))
		if noNode > 0 {
			p.say(" (and %d whose machine is not recorded)", noNode)
		}
		if ranks > 0 {
			p.say(", %d of them ranks of a distributed job", ranks)
		}
		p.say(", each run counted once; devices a run's log lists as measured by another run are not added again")
	} else {
		p.say(". This sums %s, each counted once; their machines are not recorded", plural(t.Runs, "run", "runs"))
	}
	p.say(". Counted: %s.", basisWords(t))
	if t.Projected > 0 {
		p.say(" The intervals of the runs counted on a projection are given with each run and not combined here.")
	}
	if t.Duplicates > 0 {
		p.say(" %s of runs' logs found again %s not counted.", plural(t.Duplicates, "copy", "copies"),
			map[bool]string{true: "was", false: "were"}[t.Duplicates == 1])
	}
	for _, q := range paras {
		for _, s := range q.sources {
			p.cite(s)
		}
	}
	return p
}

// basisWords says how many runs count what, for people.
func basisWords(t runlog.Total) string {
	words := map[runlog.Basis][2]string{
		runlog.BasisRun:        {"whole run measured", "whole runs measured"},
		runlog.BasisCheckpoint: {"killed run up to its last checkpoint", "killed runs up to their last checkpoint"},
		runlog.BasisActual:     {"run's completed epochs (carbontracker's actual consumption)", "runs' completed epochs (carbontracker's actual consumption)"},
		runlog.BasisProjection: {"projection (carbontracker's)", "projections (carbontracker's)"},
		runlog.BasisMeasured:   {"run's epochs logged", "runs' epochs logged"},
		runlog.BasisNone:       {"run with nothing to count", "runs with nothing to count"},
	}
	var parts []string
	for _, b := range basisCounts(t) {
		if b.n > 0 {
			w := words[b.basis]
			parts = append(parts, plural(b.n, w[0], w[1]))
		}
	}
	return strings.Join(parts, ", ")
}

// epochsOf is "2 of 5 epochs", or "2 epochs (of a number not recorded)"
// when the run did not announce its epochs.
func epochsOf(completed, announced int) string {
	if announced <= 0 {
		return plural(completed, "epoch", "epochs") + " (of a number not recorded)"
	}
	if announced == 1 {
		return fmt.Sprintf("%d of 1 epoch", completed)
	}
	return fmt.Sprintf("%d of %d epochs", completed, announced)
}

// epochsAnnounced is "5 announced", or "their number not recorded".
func epochsAnnounced(n int) string {
	if n <= 0 {
		return "their number not recorded"
	}
	return fmt.Sprintf("of %d announced", n)
}

// plural is "1 run", "2 runs".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// upper is the components in capitals: "GPU", "CPU", "DRAM".
func upper(kinds []string) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = strings.ToUpper(k)
	}
	return out
}

// when formats a time of a log as it was written: with its offset from
// UTC for carbontrack's JSON lines ("UTC", "UTC+02:00"), as the log's local
// time for carbontracker's pairs, which do not say their zone.
func when(t time.Time) string {
	switch t.Location() {
	case time.UTC:
		return t.Format("2006-01-02 15:04:05 UTC")
	case time.Local:
		return t.Format("2006-01-02 15:04:05") + " (the log's local time)"
	}
	return t.Format("2006-01-02 15:04:05 UTC-07:00")
}

// duration formats a duration for people, with three significant digits:
// "42.5 s", "25 min", "5.04 h", "3.2 days".
func duration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 60:
		return estimate.FormatSig(s, 3) + nbsp + "s"
	case s < 3600:
		return estimate.FormatSig(s/60, 3) + nbsp + "min"
	case s < 48*3600:
		return estimate.FormatSig(s/3600, 3) + nbsp + "h"
	}
	return estimate.FormatSig(s/86400, 3) + nbsp + "days"
}

// energy formats kWh with three significant digits, in Wh below 1 kWh.
func energy(kwh float64) string {
	if kwh < 1 {
		return estimate.FormatSig(kwh*1000, 3) + nbsp + "Wh"
	}
	return strings.ReplaceAll(estimate.FormatEnergy(kwh), " ", nbsp)
}

// mass formats grams of CO2e: "55.2 g CO2e", "1.23 kg CO2e".
func mass(g float64) string {
	return strings.ReplaceAll(estimate.FormatMass(g/1000), " ", nbsp) + nbsp + "CO2e"
}

// massRange formats an interval of grams of CO2e: "12.1–13.4 kg CO2e",
// "950 g CO2e to 1.2 kg CO2e".
func massRange(lo, hi float64) string {
	l, h := mass(lo), mass(hi)
	ln, lu, _ := strings.Cut(l, nbsp)
	_, hu, _ := strings.Cut(h, nbsp)
	if lu == hu {
		return ln + "–" + h
	}
	return l + " to " + h
}

// intensity formats gCO2e/kWh with three significant digits.
func intensity(v float64) string {
	return estimate.FormatSig(v, 3) + nbsp + "gCO2e/kWh"
}

// writeText writes p as plain prose wrapped at 80 columns (its first
// sentence names it: no title), then its sources.
func writeText(w io.StringWriter, p para) {
	var body strings.Builder
	for _, pc := range p.body {
		body.WriteString(plainQuotes.Replace(pc.text))
	}
	w.WriteString(wrapText(body.String(), 80, "") + "\n")
	if len(p.sources) > 0 {
		w.WriteString("Sources:\n")
		for _, s := range p.sources {
			w.WriteString(wrapText("- "+s, 80, "  ") + "\n")
		}
	}
}

// wrapText wraps s at width columns, the lines after the first indented;
// nbsp joins words, and is a space in the result.
func wrapText(s string, width int, indent string) string {
	var b strings.Builder
	col := 0
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' })
	for i, word := range words {
		n := len([]rune(word))
		switch {
		case i == 0:
		case col+1+n > width:
			b.WriteString("\n" + indent)
			col = len(indent)
		default:
			b.WriteString(" ")
			col++
		}
		b.WriteString(word)
		col += n
	}
	return strings.ReplaceAll(b.String(), nbsp, " ")
}

// markdownEscaper escapes what markdown would read as markup.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`, "~", `\~`, "&", `\&`, "$", `\$`)

// writeMarkdown writes p as a heading, a paragraph with the figures in
// bold, and a list of its sources.
func writeMarkdown(w io.StringWriter, p para) {
	w.WriteString("### " + markdownEscaper.Replace(plainQuotes.Replace(p.title)) + "\n\n")
	var body strings.Builder
	for _, pc := range p.body {
		t := markdownEscaper.Replace(plainQuotes.Replace(strings.NewReplacer(nbsp, " ", "\n", " ").Replace(pc.text)))
		if pc.bold {
			t = "**" + t + "**"
		}
		body.WriteString(t)
	}
	w.WriteString(strings.TrimSpace(body.String()) + "\n")
	if len(p.sources) > 0 {
		w.WriteString("\nSources:\n\n")
		for _, s := range p.sources {
			w.WriteString("- " + markdownEscaper.Replace(s) + "\n")
		}
	}
}

// latexEscaper escapes LaTeX's special characters in text.
var latexEscaper = strings.NewReplacer(`\`, `\textbackslash{}`, "%", `\%`, "_", `\_`, "&", `\&`, "#", `\#`,
	"$", `\$`, "{", `\{`, "}", `\}`, "~", `\textasciitilde{}`, "^", `\textasciicircum{}`,
	"<", `\textless{}`, ">", `\textgreater{}`, "|", `\textbar{}`, `"`, `\textquotedbl{}`)

// latexTypeset sets what plain LaTeX would not: CO2 with its subscript,
// ×, en dashes, quotes and the unit's non-breaking space.
var latexTypeset = strings.NewReplacer("CO2e", "CO$_2$e", "×", `$\times$`, "–", "--", nbsp, "~", ` \%`, `~\%`,
	"\u201c", "``", "\u201d", "''")

// plainQuotes makes the prose's quotes plain ones, for text and markdown.
var plainQuotes = strings.NewReplacer("\u201c", `"`, "\u201d", `"`)

// latex is s escaped and typeset for LaTeX. Hyphens in a row are kept
// apart ("--zone" must not become an en dash).
func latex(s string) string {
	e := latexEscaper.Replace(s)
	for strings.Contains(e, "--") {
		e = strings.ReplaceAll(e, "--", "-{}-")
	}
	return latexTypeset.Replace(e)
}

// writeLaTeX writes p as a \paragraph, the figures in \textbf, and its
// sources in "% cite:" comments, ready for a bibliography.
func writeLaTeX(w io.StringWriter, p para) {
	w.WriteString(`\paragraph{` + latex(p.title) + "}\n")
	var body strings.Builder
	for _, pc := range p.body {
		t := latex(pc.text)
		if pc.bold {
			t = `\textbf{` + t + "}"
		}
		body.WriteString(t)
	}
	w.WriteString(wrapLaTeX(strings.TrimSpace(body.String())) + "\n")
	for _, s := range p.sources {
		w.WriteString("% cite: " + strings.Join(strings.Fields(s), " ") + "\n")
	}
}

// wrapLaTeX wraps LaTeX source at 80 columns, at spaces only (never at a
// "~").
func wrapLaTeX(s string) string { return wrapText(s, 80, "") }

// providerName names an intensity provider for a sentence.
func providerName(p string) string {
	switch p {
	case "static":
		return "carbontrack's embedded table"
	case "electricitymaps":
		return "Electricity Maps"
	case "energidataservice":
		return "Energi Data Service"
	}
	return p // carbonintensity.org.uk and others: their own names
}
