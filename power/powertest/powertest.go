// Package powertest provides scripted power sources for tests of code built on
// carbontrack's power and sampler packages, in the manner of zaptest: a Source
// whose power or energy is a function of time that the test chooses, read
// through the same interface as a GPU or a RAPL package.
package powertest

import (
	"context"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/power"
)

// Source is a scripted power.Source. Set its fields before the first Read and
// do not change them afterwards; Reads and SetErr are safe for concurrent use.
//
// A counter source (Info.Method == power.MethodCounter) reports Energy(now);
// any other reports Power(now) as an instantaneous reading.
type Source struct {
	// Desc is returned by Info.
	Desc power.Info
	// Clock gives the time of a reading; nil means time.Now (which is the
	// fake clock inside a testing/synctest bubble).
	Clock func() time.Time
	// Power is the power at a time, for sampled and estimated sources.
	Power func(t time.Time) power.Watts
	// Energy is the cumulative energy at a time, for counter sources.
	Energy func(t time.Time) power.Joules

	mu    sync.Mutex
	reads int
	err   error
}

var _ power.Source = (*Source)(nil)

// Constant returns a source drawing w from start on: a counter reporting
// w × (t - start), or a power source reporting w.
func Constant(name string, kind power.Kind, method power.Method, w power.Watts, start time.Time) *Source {
	return &Source{
		Desc:   power.Info{Name: name, Kind: kind, Device: name, Index: -1, Method: method},
		Power:  func(time.Time) power.Watts { return w },
		Energy: func(t time.Time) power.Joules { return w.For(t.Sub(start)) },
	}
}

// Info returns Desc.
func (s *Source) Info() power.Info { return s.Desc }

// SetErr makes every following Read fail with err (nil: succeed again).
func (s *Source) SetErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Reads returns how many times Read was called.
func (s *Source) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Read reports the scripted value at the clock's time.
func (s *Source) Read(_ context.Context, r *power.Reading) error {
	s.mu.Lock()
	s.reads++
	err := s.err
	s.mu.Unlock()
	*r = power.Reading{Samples: r.Samples[:0]}
	if err != nil {
		return err
	}
	now := time.Now()
	if s.Clock != nil {
		now = s.Clock()
	}
	if s.Desc.Method == power.MethodCounter {
		r.Energy = s.Energy(now)
		return nil
	}
	r.Power = s.Power(now)
	return nil
}
