package tracker

import (
	"slices"

	"github.com/carbontrack/carbontrack/power"
)

// declaredSources makes the sources of WithDeclared, leaving out, with a
// warning, the kinds WithComponents leaves out.
func (o *options) declaredSources() ([]*power.Declared, error) {
	var want []power.DeclaredPower
	for _, d := range o.declared {
		if len(o.kinds) > 0 && !slices.Contains(o.kinds, d.Kind) && d.Check() == nil {
			o.logger.Warn("tracker: declared device not counted: its kind is not among the components",
				"kind", string(d.Kind), "device", d.Device)
			continue
		}
		want = append(want, d)
	}
	if len(want) == 0 {
		return nil, nil
	}
	return power.NewDeclaredSources(want...)
}

// declare adds the declared sources to sources (power.MergeDeclared): the
// estimates of their kinds are dropped, and closed when the tracker
// discovered them.
func (t *Tracker) declare(sources []power.Source, declared []*power.Declared) []power.Source {
	if len(declared) == 0 {
		return sources
	}
	merged, dropped, warnings := power.MergeDeclared(sources, declared...)
	for _, w := range warnings {
		t.logger.Warn("tracker: " + w)
	}
	for _, s := range dropped {
		t.logger.Info("tracker: estimate replaced by a declared device", "source", s.Info().Name)
		if c, ok := s.(power.Closer); ok && t.disc != nil {
			_ = c.Close()
		}
	}
	if t.disc != nil {
		t.disc.Sources = merged
	}
	return merged
}
