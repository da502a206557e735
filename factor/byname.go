package factor

import (
	"fmt"
	"slices"
	"strings"
)

// Provider names, as ByName, the CLI's --provider and the tracker take them.
const (
	// ProviderStatic is the embedded tables (Static): offline annual
	// averages, the default.
	ProviderStatic = "static"
	// ProviderLive is ForZone's choice of the live providers that serve the
	// zone, falling back to the embedded tables.
	ProviderLive = "live"
	// ProviderElectricityMaps is Electricity Maps (needs a token).
	ProviderElectricityMaps = "electricitymaps"
	// ProviderUKGrid is Great Britain's Carbon Intensity API.
	ProviderUKGrid = "ukgrid"
	// ProviderEnergiDataService is Denmark's Energi Data Service.
	ProviderEnergiDataService = "energidataservice"
)

// ProviderNames lists the names ByName accepts, for help texts.
func ProviderNames() []string {
	return []string{ProviderStatic, ProviderLive, ProviderElectricityMaps, ProviderUKGrid, ProviderEnergiDataService}
}

// IsOffline reports whether p answers without the network, at once: the
// embedded tables (StaticProvider) and fixed values (FixedProvider). A caller
// may ask such a provider before work starts; any other provider should be
// asked in the background, with the zone's table value in use meanwhile.
func IsOffline(p Provider) bool {
	switch p.(type) {
	case StaticProvider, FixedProvider, *StaticProvider, *FixedProvider:
		return true
	}
	return false
}

// ByName builds the provider called name for zone; it is the one place
// where providers are assembled by name, for the command line and the
// tracker alike:
//
//   - "static" or "": Static(zone), offline (an empty zone answers the
//     world average, with a Fallback);
//   - "live": ForZone(zone, WithLive()): the live providers that serve the
//     zone, then the embedded tables;
//   - "electricitymaps": Electricity Maps for zone ("DE", "US-CAL-CISO");
//   - "ukgrid": the Carbon Intensity API, national for "", "GB", "UK",
//     "GBR" or "United Kingdom", else for an outward postcode ("RG10" or
//     "uk:RG10");
//   - "energidataservice": Energi Data Service for "DK1" or "DK2".
//
// A named live provider is chained to the embedded value of its zone (of the
// zone's country; GB for ukgrid) and cached, so a failing source falls back
// to the table value, never to the world average unless the zone has none.
// The zone is checked first: an unknown one is ErrUnknownZone with close
// matches. An unknown name is ErrInvalid. Options go to the providers, the
// Chain and the Cache (WithBaseURL to the named live provider).
func ByName(name, zone string, opts ...Option) (Provider, error) {
	z := strings.TrimSpace(zone)
	var (
		live       Provider
		staticZone = z
		err        error
	)
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case ProviderStatic, "":
		if err := CheckZone(z); err != nil {
			return nil, err
		}
		return Static(z), nil
	case ProviderLive:
		return ForZone(z, append(opts, WithLive())...)
	case ProviderElectricityMaps:
		if z == "" {
			return nil, fmt.Errorf("%w: provider %s needs a zone (e.g. DE, US-CAL-CISO)", ErrInvalid, n)
		}
		if err := CheckZone(z); err != nil {
			return nil, err
		}
		live, err = NewElectricityMaps(z, opts...)
	case ProviderUKGrid:
		postcode := ""
		if c, cerr := LookupCountry(z); z != "" && (cerr != nil || c.Alpha2 != "GB") {
			postcode = strings.ToUpper(z)
			if i := strings.IndexByte(postcode, ':'); i > 0 && (postcode[:i] == "UK" || postcode[:i] == "GB") {
				postcode = postcode[i+1:]
			}
		}
		staticZone = "GB"
		live, err = NewUKCarbonIntensity(postcode, opts...)
	case ProviderEnergiDataService:
		if z == "" {
			return nil, fmt.Errorf("%w: provider %s needs a zone: DK1 or DK2", ErrInvalid, n)
		}
		live, err = NewEnergiDataService(z, opts...)
	default:
		return nil, fmt.Errorf("%w: unknown provider %q: use %s", ErrInvalid, clip(name),
			strings.Join(ProviderNames(), ", "))
	}
	if err != nil {
		return nil, err
	}
	chain, err := NewChain([]Provider{live, Static(staticZone)}, opts...)
	if err != nil {
		return nil, err
	}
	return NewCache(chain, opts...)
}

// OfflineFallback is a provider that ends in an offline one (a Chain, a Cache
// in front of one, ByName's and ForZone's live providers): Offline returns
// that provider, whose answer a caller may use at once while the live source
// is asked.
type OfflineFallback interface {
	Offline() (Provider, bool)
}

var (
	_ OfflineFallback = (*Chain)(nil)
	_ OfflineFallback = (*Cache)(nil)
)

// Offline returns the chain's last provider that answers offline, if any.
func (c *Chain) Offline() (Provider, bool) {
	for _, p := range slices.Backward(c.providers) {
		if IsOffline(p) {
			return p, true
		}
		if f, ok := p.(OfflineFallback); ok {
			if q, ok := f.Offline(); ok {
				return q, true
			}
		}
	}
	return nil, false
}

// Offline returns the cached provider when it is offline, or its own
// offline fallback.
func (c *Cache) Offline() (Provider, bool) {
	if IsOffline(c.p) {
		return c.p, true
	}
	if f, ok := c.p.(OfflineFallback); ok {
		return f.Offline()
	}
	return nil, false
}
