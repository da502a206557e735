package factor

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
)

// ForZone builds the usual provider for a zone: a Cache in front of either
// Static(zone) (the default: offline, annual averages) or, WithLive, a Chain
// of the live providers that serve the zone followed by Static(zone):
//
//   - "DK1", "DK2", "DK-DK1", "DK-DK2": Energi Data Service, then Electricity
//     Maps if a token is set;
//   - Great Britain ("GB", "UK", "GBR", "United Kingdom"): the Carbon
//     Intensity API, national, then Electricity Maps if a token is set;
//     "uk:RG10" (or "gb:RG10"): the Carbon Intensity API for that outward
//     postcode's region;
//   - any other country or Electricity Maps zone ("FR", "France",
//     "US-CAL-CISO"): Electricity Maps, which needs a token (WithToken or
//     ElectricityMapsTokenEnv).
//
// Zones are those of Lookup plus the live ones above. An empty zone answers
// the world average with a Fallback. ForZone fails with ErrUnknownZone for a
// zone no table or live provider knows (so a typo is caught at start-up), and,
// WithLive, with ErrNoToken or ErrNotSupported when no live provider serves
// the zone (cloud regions have none). All options are passed to the providers
// and the Cache, except WithBaseURL and WithCoordinates, which ForZone ignores
// (its providers have different URLs, and it locates by zone); build the
// providers yourself with NewChain and NewCache to set those.
func ForZone(zone string, opts ...Option) (*Cache, error) {
	o := buildOptions(opts)
	if err := o.validateCommon(); err != nil {
		return nil, fmt.Errorf("factor: for zone: %w", err)
	}
	z := strings.TrimSpace(zone)
	if z != "" {
		if err := checkZoneKnown(z); err != nil {
			return nil, err
		}
	}
	static := Static(z)
	if !o.live {
		return NewCache(static, opts...)
	}
	if z == "" {
		return nil, fmt.Errorf("factor: for zone: %w: live intensity needs a zone", ErrInvalid)
	}
	// Each live provider has its own URL, and a zone rather than coordinates.
	liveOpts := append(slices.Clone(opts), func(o *options) { o.baseURL, o.coordsSet = "", false })
	live, err := liveProviders(z, o, liveOpts)
	if err != nil {
		return nil, err
	}
	chain, err := NewChain(append(live, Provider(static)), opts...)
	if err != nil {
		return nil, err
	}
	return NewCache(chain, opts...)
}

// liveProviders returns the live providers that serve z, best first.
func liveProviders(z string, o options, opts []Option) ([]Provider, error) {
	t, err := loadTables()
	if err != nil {
		return nil, err
	}
	var live []Provider
	emZone := ""
	lower := strings.ToLower(z)
	switch {
	case strings.HasPrefix(lower, cloudGCP+":") || strings.HasPrefix(lower, cloudAWS+":") ||
		strings.HasPrefix(lower, cloudAzure+":") || lower == worldZone:
		return nil, fmt.Errorf("factor: for zone: %w: no live provider for %q; use the embedded tables (no WithLive)",
			ErrNotSupported, clip(z))
	case strings.HasPrefix(lower, "uk:") || strings.HasPrefix(lower, "gb:"):
		uk, err := NewUKCarbonIntensity(z[3:], opts...)
		if err != nil {
			return nil, err
		}
		live, emZone = append(live, uk), "GB"
	default:
		if area, ok := edsArea(z); ok {
			eds, err := NewEnergiDataService(area, opts...)
			if err != nil {
				return nil, err
			}
			live, emZone = append(live, eds), "DK-"+area
			break
		}
		if c := t.byKey[normKey(z)]; c != nil {
			emZone = c.alpha2 // a country: Electricity Maps' zone is its alpha-2 code
			if c.alpha2 == "GB" {
				uk, err := NewUKCarbonIntensity("", opts...)
				if err != nil {
					return nil, err
				}
				live = append(live, uk)
			}
		} else {
			emZone = strings.ToUpper(z) // an Electricity Maps sub-zone: US-CAL-CISO
		}
	}
	token := o.token
	if !o.tokenSet {
		token = os.Getenv(ElectricityMapsTokenEnv)
	}
	if strings.TrimSpace(token) == "" {
		if len(live) == 0 {
			return nil, fmt.Errorf("factor: for zone: %w: %q is served live by Electricity Maps only: set %s or use WithToken",
				ErrNoToken, clip(z), ElectricityMapsTokenEnv)
		}
		o.logger.Info("factor: Electricity Maps not used: no token", slog.String("zone", z))
		return live, nil
	}
	em, err := NewElectricityMaps(emZone, opts...)
	if err != nil {
		return nil, err
	}
	return append(live, em), nil
}
