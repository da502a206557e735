package promexport

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker"
)

// Metric names. Units are base units (joules, watts, grams, seconds);
// counters end in _total.
const (
	// MetricEnergy is the devices' energy since the tracker or sampler
	// started, per source, in joules, before PUE (counter).
	MetricEnergy = "carbontrack_energy_joules_total"
	// MetricPower is each source's power over the latest sampled interval,
	// in watts (gauge).
	MetricPower = "carbontrack_power_watts"
	// MetricEmissions is the emissions since the tracker started, per
	// source, in grams CO2e, PUE included (counter; tracker only).
	MetricEmissions = "carbontrack_emissions_grams_total"
	// MetricIntensity is the emission factor in use, in gCO2e/kWh, labelled
	// with the provider and zone that answered (gauge; tracker only).
	MetricIntensity = "carbontrack_grid_intensity_grams_per_kwh"
	// MetricPUE is the power usage effectiveness applied to the emissions
	// (gauge; tracker only).
	MetricPUE = "carbontrack_pue"
	// MetricEpoch is the number of epochs started, the open one included
	// (gauge; tracker only).
	MetricEpoch = "carbontrack_epoch"
	// MetricEpochsPlanned is the number of epochs announced to tracker.New
	// (gauge; tracker only).
	MetricEpochsPlanned = "carbontrack_epochs_planned"
	// MetricProjected is carbontracker's projection of the run's emissions,
	// in grams CO2e (gauge; tracker only, absent until projected).
	MetricProjected = "carbontrack_projected_emissions_grams"
	// MetricSourceUp is 1 for a source that answers, 0 once it is lost
	// (gauge).
	MetricSourceUp = "carbontrack_source_up"
	// MetricStartTime is when measuring started, in seconds since the Unix
	// epoch (gauge).
	MetricStartTime = "carbontrack_start_time_seconds"
)

// Label names.
const (
	// LabelComponent is the kind of device: "gpu", "cpu" or "dram".
	LabelComponent = "component"
	// LabelDevice is the source's name, such as "gpu:0" or "cpu:package-0".
	LabelDevice = "device"
	// LabelMethod is how the source knows its energy: "counter", "sampled",
	// "estimated" or "declared".
	LabelMethod = "method"
	// LabelSource is the source's name on MetricSourceUp.
	LabelSource = "source"
	// LabelProvider and LabelZone are the emission factor's provider and
	// zone on MetricIntensity.
	LabelProvider = "provider"
	LabelZone     = "zone"
	// LabelRunID and LabelNode are the constant labels of WithRunID and
	// WithNode.
	LabelRunID = "run_id"
	LabelNode  = "node"
	// LabelRank is the constant label of the tracker's rank in a
	// distributed job (tracker.Identity), when known: the ranks of one
	// machine each export their own devices, so every series stays unique.
	LabelRank = "rank"
)

// Option configures NewCollector and NewSamplerCollector.
type Option func(*options)

type options struct {
	runID, node string
	rank        string
	labels      prometheus.Labels
}

// WithRunID adds the constant label run_id=id to every metric, so that the
// nodes of one run can be summed (sum by (run_id)). An empty id adds
// nothing; NewCollector then takes the tracker's run id when it has one
// (tracker.Identity: CARBONTRACK_RUN_ID, SLURM_JOB_ID, ...).
func WithRunID(id string) Option { return func(o *options) { o.runID = id } }

// WithNode adds the constant label node=name to every metric (such as the
// host name). An empty name adds nothing.
func WithNode(name string) Option { return func(o *options) { o.node = name } }

// WithConstLabels adds constant labels to every metric (such as a cluster or
// a job name). Labels with an empty value are dropped. The names must not be
// one of the collector's own label names.
func WithConstLabels(l prometheus.Labels) Option {
	return func(o *options) {
		if o.labels == nil {
			o.labels = prometheus.Labels{}
		}
		for k, v := range l {
			o.labels[k] = v
		}
	}
}

// validLabelName reports whether s is a label name in Prometheus's classic
// syntax, [a-zA-Z_][a-zA-Z0-9_]*, which every version of the server and of
// the exposition formats accepts; names starting with "__" are reserved.
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// constLabels validates the options and returns the constant labels.
func (o *options) constLabels() (prometheus.Labels, error) {
	out := prometheus.Labels{}
	for k, v := range o.labels {
		out[k] = v
	}
	if o.runID != "" {
		out[LabelRunID] = o.runID
	}
	if o.node != "" {
		out[LabelNode] = o.node
	}
	if o.rank != "" {
		out[LabelRank] = o.rank
	}
	var errs []error
	for k, v := range out {
		switch {
		case !validLabelName(k):
			errs = append(errs, fmt.Errorf("promexport: invalid label name %q", k))
		case k == LabelComponent || k == LabelDevice || k == LabelMethod || k == LabelSource ||
			k == LabelProvider || k == LabelZone:
			errs = append(errs, fmt.Errorf("promexport: label %q is the collector's own", k))
		case !utf8.ValidString(v):
			errs = append(errs, fmt.Errorf("promexport: label %s: value is not valid UTF-8", k))
		case v == "":
			delete(out, k)
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return out, errors.Join(errs...)
}

// descs are a collector's metric descriptions, built once with its constant
// labels.
type descs struct {
	energy, power, emissions, up                           *prometheus.Desc
	intensity, pue, epoch, epochsPlanned, projected, start *prometheus.Desc
}

func newDescs(cl prometheus.Labels) descs {
	src := []string{LabelComponent, LabelDevice, LabelMethod}
	return descs{
		energy: prometheus.NewDesc(MetricEnergy,
			"Energy drawn by the device since measuring started, in joules, before PUE.", src, cl),
		power: prometheus.NewDesc(MetricPower,
			"Power drawn by the device over the latest sampled interval, in watts.", src, cl),
		emissions: prometheus.NewDesc(MetricEmissions,
			"Emissions of the device's energy since the tracker started, in grams CO2e, PUE included.", src, cl),
		up: prometheus.NewDesc(MetricSourceUp,
			"Whether the power source answers (1) or was lost (0); a lost source's energy so far is kept.",
			[]string{LabelSource}, cl),
		intensity: prometheus.NewDesc(MetricIntensity,
			"Carbon intensity of electricity in use, in grams CO2e per kWh.", []string{LabelProvider, LabelZone}, cl),
		pue: prometheus.NewDesc(MetricPUE,
			"Power usage effectiveness applied to the emissions.", nil, cl),
		epoch: prometheus.NewDesc(MetricEpoch,
			"Number of epochs started, the open one included.", nil, cl),
		epochsPlanned: prometheus.NewDesc(MetricEpochsPlanned,
			"Number of epochs announced for the run.", nil, cl),
		projected: prometheus.NewDesc(MetricProjected,
			"Projected emissions of all the run's epochs (carbontracker's mean epoch times epochs), in grams CO2e, PUE included.",
			nil, cl),
		start: prometheus.NewDesc(MetricStartTime,
			"When measuring started, in seconds since the Unix epoch.", nil, cl),
	}
}

// Collector is a prometheus.Collector for a running tracker.Tracker
// (NewCollector) or a bare sampler.Sampler (NewSamplerCollector). A scrape
// reads no sensor: it copies the tracker's or the sampler's live state into
// a Status or Snapshot that the Collector reuses, so a scrape allocates only
// the metrics it returns.
//
// A Collector is safe for concurrent use: concurrent scrapes are
// serialised while the state is copied. It is "checked": Describe sends
// every metric description Collect can use.
type Collector struct {
	tr  *tracker.Tracker
	smp *sampler.Sampler
	d   descs

	mu   sync.Mutex // guards st and snap, reused between scrapes
	st   tracker.Status
	snap sampler.Snapshot
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector for t: per source the energy, power,
// emissions and whether it is up; the emission factor, PUE, epochs started
// and announced, the projection once made, and the start time. It reads t
// with t.StatusInto at each scrape. It fails on invalid constant labels.
func NewCollector(t *tracker.Tracker, opts ...Option) (*Collector, error) {
	if t == nil {
		return nil, errors.New("promexport: nil tracker")
	}
	// The tracker's identity labels what the options leave unset.
	id := t.Identity()
	pre := []Option{WithRunID(id.RunID)}
	if id.Rank >= 0 {
		pre = append(pre, func(o *options) { o.rank = strconv.Itoa(id.Rank) })
	}
	c, err := newCollector(append(pre, opts...))
	if err != nil {
		return nil, err
	}
	c.tr = t
	return c, nil
}

// NewSamplerCollector returns a collector for s, for a machine measured
// without a tracker (carbontrack serve): per source the energy, power and
// whether it is up, and the start time. There are no epochs, emission
// factor or emissions; multiply the energy by an intensity in PromQL. It
// fails on invalid constant labels.
func NewSamplerCollector(s *sampler.Sampler, opts ...Option) (*Collector, error) {
	if s == nil {
		return nil, errors.New("promexport: nil sampler")
	}
	c, err := newCollector(opts)
	if err != nil {
		return nil, err
	}
	c.smp = s
	return c, nil
}

func newCollector(opts []Option) (*Collector, error) {
	var o options
	runID := ""
	for _, opt := range opts {
		opt(&o)
		if o.runID != "" {
			runID = o.runID // an empty WithRunID keeps the one before
		}
	}
	o.runID = runID
	cl, err := o.constLabels()
	if err != nil {
		return nil, err
	}
	return &Collector{d: newDescs(cl)}, nil
}

// Describe sends the descriptions of the metrics Collect can send.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.d.energy
	ch <- c.d.power
	ch <- c.d.up
	ch <- c.d.start
	if c.tr != nil {
		ch <- c.d.emissions
		ch <- c.d.intensity
		ch <- c.d.pue
		ch <- c.d.epoch
		ch <- c.d.epochsPlanned
		ch <- c.d.projected
	}
}

// Collect sends the current values. The state is copied under the
// collector's lock; the metrics are sent after it is released.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	var ms []prometheus.Metric
	c.mu.Lock()
	if c.tr != nil {
		ms = c.trackerMetrics()
	} else {
		ms = c.samplerMetrics()
	}
	c.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
}

// scrapeRead bounds how long a scrape waits for the fresh read it asks for.
const scrapeRead = time.Second

// trackerMetrics builds the metrics of a tracker, from a read of every
// source taken for this scrape (counters are otherwise read every 10 s).
// Call with c.mu held.
func (c *Collector) trackerMetrics() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeRead)
	_ = c.tr.Refresh(ctx) // on timeout, the latest values
	cancel()
	c.tr.StatusInto(&c.st)
	st := &c.st
	ms := make([]prometheus.Metric, 0, 4*len(st.Sources)+7)
	for i := range st.Sources {
		s := &st.Sources[i]
		ms = c.sourceMetrics(ms, s.Info, s.DeviceEnergy, s.Power, s.Lost, st.Start)
		ms = append(ms, counter(c.d.emissions, s.Grams, st.Start, string(s.Info.Kind), s.Info.Name, string(s.Info.Method)))
	}
	ms = append(ms,
		gauge(c.d.intensity, float64(st.Intensity.Value), st.Intensity.Provider, st.Intensity.Zone),
		gauge(c.d.pue, st.PUE),
		gauge(c.d.epoch, float64(st.Started)),
		gauge(c.d.epochsPlanned, float64(st.Epochs)),
	)
	if st.HasProjection {
		ms = append(ms, gauge(c.d.projected, st.Projection.Grams))
	}
	if !st.Start.IsZero() {
		ms = append(ms, gauge(c.d.start, unixSeconds(st.Start)))
	}
	return ms
}

// samplerMetrics builds the metrics of a bare sampler. Call with c.mu held.
func (c *Collector) samplerMetrics() []prometheus.Metric {
	c.smp.Request() // the next scrape sees a fresh read
	c.smp.SnapshotInto(&c.snap)
	snap := &c.snap
	ms := make([]prometheus.Metric, 0, 3*len(snap.Sources)+1)
	for i := range snap.Sources {
		s := &snap.Sources[i]
		ms = c.sourceMetrics(ms, s.Info, s.Energy, s.Power, s.Lost, snap.Start)
	}
	if !snap.Start.IsZero() {
		ms = append(ms, gauge(c.d.start, unixSeconds(snap.Start)))
	}
	return ms
}

// sourceMetrics appends the metrics tracker and sampler share for one
// source.
func (c *Collector) sourceMetrics(ms []prometheus.Metric, info power.Info, e power.Joules, p power.Watts, lost bool,
	start time.Time) []prometheus.Metric {
	kind, name, method := string(info.Kind), info.Name, string(info.Method)
	up := 1.0
	if lost {
		up = 0
	}
	return append(ms,
		counter(c.d.energy, float64(e), start, kind, name, method),
		gauge(c.d.power, float64(p), kind, name, method),
		gauge(c.d.up, up, name),
	)
}

// counter returns a counter with its creation time (Prometheus uses it to
// see a counter start from zero) when start is known; an invalid metric, which
// the registry reports as a scrape error, on a label mismatch.
func counter(d *prometheus.Desc, v float64, start time.Time, labels ...string) prometheus.Metric {
	var (
		m   prometheus.Metric
		err error
	)
	if start.IsZero() {
		m, err = prometheus.NewConstMetric(d, prometheus.CounterValue, v, labels...)
	} else {
		m, err = prometheus.NewConstMetricWithCreatedTimestamp(d, prometheus.CounterValue, v, start, labels...)
	}
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
