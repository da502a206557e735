package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

// ErrUnknownZone is returned by New for a zone that no table or live
// provider knows; the error names the closest zones. It is
// factor.ErrUnknownZone, so errors.Is works with either.
var ErrUnknownZone = factor.ErrUnknownZone

// setupFactor chooses the zone and the provider and sets the first
// intensity, all without the network: the zone as given (WithLocation,
// WithZone), as a custom provider answers it, or as located offline
// (CARBONTRACK_ZONE, the time zone, the world average); the first intensity
// is the provider's when it answers offline, else the zone's table value
// until the live answer comes (the refresh goroutine asks at once). The
// cloud metadata services are asked in the background too, when the zone
// was located and the provider answers offline.
func (t *Tracker) setupFactor() error {
	o := &t.opts
	var (
		loc  factor.Location
		note string
		err  error
	)
	_, fixed := o.provider.(factor.FixedProvider)
	custom := o.provider != nil && !fixed
	named := o.provider == nil && !isStatic(o.providerName) // factor.ByName checks the zone for its provider
	switch {
	case fixed:
		// A fixed value has no zone.
	case o.location.Zone != "":
		loc = o.location
	case strings.TrimSpace(o.zone) != "":
		loc = factor.Location{Zone: strings.TrimSpace(o.zone), Method: factor.LocatedGiven, From: "WithZone"}
	case custom:
		// The provider knows its zone; located below only if it cannot
		// answer offline.
	default:
		if loc, err = factor.LocateOffline(o.factorOpts...); err != nil {
			return fmt.Errorf("tracker: %w", err)
		}
	}
	if loc.Zone != "" && !named {
		if err := factor.CheckZone(loc.Zone); err != nil {
			return fmt.Errorf("tracker: %s: %w", loc.From, err)
		}
	}
	p := o.provider
	if p == nil {
		if p, note, err = factor.ForLocation(o.providerName, loc, o.factorOpts...); err != nil {
			return fmt.Errorf("tracker: %w", err)
		}
	}
	first := p
	if !factor.IsOffline(p) {
		t.liveFirst, first = true, nil
		if off, ok := p.(factor.OfflineFallback); ok {
			if q, ok := off.Offline(); ok {
				first = q
			}
		}
		if first == nil {
			// A live provider of the caller's with no table value: the
			// located zone's until it answers.
			if loc.Zone == "" {
				if loc, err = factor.LocateOffline(o.factorOpts...); err != nil {
					return fmt.Errorf("tracker: %w", err)
				}
			}
			first, t.locByAnswer = factor.Static(loc.Zone), custom
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := first.Intensity(ctx, o.now())
	if err != nil {
		return fmt.Errorf("tracker: emission factor: %w", err)
	}
	switch {
	case custom && loc.Zone == "" && v.Zone != "":
		loc = factor.Location{Zone: v.Zone, Method: factor.LocatedProvider, From: "the emission factor's provider"}
	case named:
		loc = loc.Served(o.providerName, v)
	}
	if note != "" {
		v.Fallback = note
	}
	t.provider, t.loc, t.intens, t.curI = p, loc, v, v.Value
	// The cloud may know better than a time zone.
	t.probeCloud = (loc.Method == factor.LocatedTimeZone || loc.Method == factor.LocatedDefault) &&
		o.provider == nil && factor.IsOffline(p) && factor.CloudMetadataEnabled(o.factorOpts...)
	t.located = make(chan struct{})
	if !t.probeCloud {
		t.settleLocation()
	}
	return nil
}

// settleLocation warns, once the location is final, when nothing named a
// zone, and closes Located.
func (t *Tracker) settleLocation() {
	t.mu.Lock()
	loc := t.loc
	t.mu.Unlock()
	if loc.Warning != "" {
		t.logger.Warn("tracker: "+loc.Warning, "zone", loc.Zone)
	}
	close(t.located)
}

// Located returns a channel closed once the zone is final: at once, or,
// when the tracker located the machine itself, when the cloud metadata
// services answered or gave up (within factor.DefaultMetadataBudget). Read
// Location's Warning after it, not before: on a cloud instance the time
// zone often names no country, but the metadata service names the region.
func (t *Tracker) Located() <-chan struct{} { return t.located }

// CheckFactor checks the emission factor's options (WithZone,
// WithLocation, WithProvider, WithFactorOptions, WithFixedIntensity) as New
// does, without the network and without starting anything, so that a
// command can refuse a bad zone or provider before it starts its work. Its
// errors are New's: ErrUnknownZone with close matches, factor.ErrInvalid
// for an unknown provider, factor.ErrNoToken, factor.ErrImplausible.
func CheckFactor(opts ...Option) error {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	o.logger = slog.New(slog.DiscardHandler)
	t := &Tracker{opts: o, logger: o.logger}
	return t.setupFactor()
}

func isStatic(name string) bool { return name == "" || name == factor.ProviderStatic }

// fetchIntensity asks the provider and uses the answer from now on; on
// failure the previous value is kept (the zone's table value if none came).
func (t *Tracker) fetchIntensity(ctx context.Context) {
	at := t.opts.now()
	t.mu.Lock()
	p := t.provider
	t.mu.Unlock()
	v, err := p.Intensity(ctx, at)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return // Stop: not a failure of the provider
	}
	if err != nil {
		t.mu.Lock()
		t.nIErr++
		if t.nIntens == 0 && !t.failNoted {
			// Never answered: say what is counted instead.
			t.failNoted = true
			msg := fmt.Sprintf("the emission factor provider failed (%v); the table value of %s is counted", err, t.intens.Zone)
			if t.intens.Fallback != "" {
				msg = t.intens.Fallback + "; " + msg
			}
			t.intens.Fallback, t.intens.Cause = msg, err
		}
		cur := t.curI
		t.mu.Unlock()
		t.logger.Warn("tracker: emission factor unavailable; keeping the previous value", "err", err, "value", float64(cur))
		return
	}
	t.mu.Lock()
	t.nIntens++
	t.setIntensityLocked(v, at)
	if t.locByAnswer {
		t.loc = t.loc.Served("", v)
	}
	t.mu.Unlock()
	if v.Fallback != "" {
		t.logger.Info("tracker: emission factor fallback", "fallback", v.Fallback)
	}
}

// setIntensityLocked puts v in use from at. Before any gram is counted it
// applies from the start of the run (the first live answer, the region a
// cloud service named); after, energy drawn before at keeps the old value:
// each interval's energy meets the intensity of its time.
func (t *Tracker) setIntensityLocked(v factor.Intensity, at time.Time) {
	if t.gramsCountedLocked() {
		t.prevI, t.changeAt = t.curI, at
	} else {
		t.prevI, t.changeAt = v.Value, time.Time{}
	}
	t.intens, t.curI = v, v.Value
}

// gramsCountedLocked says whether any energy has met an intensity yet.
func (t *Tracker) gramsCountedLocked() bool {
	for _, g := range t.cumG {
		if g != 0 {
			return true
		}
	}
	return false
}

// locateCloud asks the cloud metadata services for the region; when one
// names a region of the tables, its value replaces the time zone's.
func (t *Tracker) locateCloud(ctx context.Context) {
	loc, err := factor.LocateCloud(ctx, t.opts.factorOpts...)
	if err != nil {
		t.logger.Debug("tracker: no cloud region", "err", err)
		return
	}
	p := factor.Static(loc.Zone)
	v, err := p.Intensity(ctx, t.opts.now())
	if err != nil {
		return
	}
	t.mu.Lock()
	t.provider, t.loc = p, loc
	if t.changeAt.IsZero() && t.curI > 0 && t.gramsCountedLocked() {
		// The location is the whole run's: what was counted at the time
		// zone's value, the only one in use so far, is restated.
		t.restateLocked(float64(v.Value) / float64(t.curI))
	}
	t.intens, t.curI, t.prevI = v, v.Value, v.Value
	t.mu.Unlock()
	t.logger.Info("tracker: zone found", "zone", loc.String())
}

// Location returns the zone in use and how it was found; the zero Location
// for a fixed intensity.
func (t *Tracker) Location() factor.Location {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.loc
}

func (t *Tracker) refreshLoop(ctx context.Context) {
	defer close(t.refreshDone)
	if t.probeCloud {
		t.locateCloud(ctx)
		t.settleLocation()
	}
	if t.liveFirst {
		t.fetchOnce(ctx)
	}
	tk := time.NewTicker(t.opts.refresh)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			t.fetchOnce(ctx)
		}
	}
}

func (t *Tracker) fetchOnce(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, min(t.opts.refresh, 30*time.Second))
	t.fetchIntensity(fctx)
	cancel()
}

// intensityLine describes the intensity in use and its zone for the logs:
// "237.6 gCO2e/kWh (GB, static, 2023); zone GB (from --zone)".
func (t *Tracker) intensityLine() string {
	t.mu.Lock()
	iv, loc := t.intens, t.loc
	t.mu.Unlock()
	s := iv.String()
	if l := loc.String(); l != "" {
		s += "; zone " + l
	}
	return s
}

// restateLocked multiplies every gram counted so far by k, when the
// intensity they met turns out to be k times too low or high for the whole
// run (the region a cloud metadata service names, which replaces the time
// zone's country). Records already written keep their values.
func (t *Tracker) restateLocked(k float64) {
	for _, gs := range [][]float64{t.cumG, t.startG, t.tmpG, t.markG} {
		for i := range gs {
			gs[i] *= k
		}
	}
	t.sumG *= k
	t.compG *= k
	for i := range t.recs {
		t.recs[i].grams *= k
	}
	t.stats.scaleGrams(k)
	t.proj.scaleGrams(k)
	t.firstProj.scaleGrams(k)
}
