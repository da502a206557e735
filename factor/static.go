package factor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Country is an ISO 3166-1 country. The zero value is no country. It is a
// plain value.
type Country struct {
	// Alpha2 is the ISO 3166-1 alpha-2 code, for example "FR".
	Alpha2 string
	// Alpha3 is the ISO 3166-1 alpha-3 code, for example "FRA".
	Alpha3 string
	// Name is the English short name, for example "France".
	Name string
}

// LookupCountry finds a country by ISO 3166-1 alpha-2 or alpha-3 code or by
// name ("FR", "fra", "France", "UK"), case-insensitively. An unknown country
// is an error wrapping ErrUnknownZone. It is safe for concurrent use.
func LookupCountry(s string) (Country, error) {
	t, err := loadTables()
	if err != nil {
		return Country{}, err
	}
	c := t.byKey[normKey(s)]
	if c == nil || len(s) > maxZoneSize {
		return Country{}, fmt.Errorf("%w: no country %q", ErrUnknownZone, clip(s))
	}
	return c.public(), nil
}

func (c *country) public() Country {
	name := c.owidName
	if name == "" {
		name = c.name
	}
	return Country{Alpha2: c.alpha2, Alpha3: c.alpha3, Name: name}
}

// Lookup returns the annual average intensity of a zone from the embedded
// tables, without fallback. Zones, all case-insensitive:
//
//   - a country by ISO 3166-1 alpha-2 or alpha-3 code or name: "FR", "FRA",
//     "France" (Our World in Data, 213 countries);
//   - a Google Cloud region: "gcp:europe-west4" (region-carbon-info, 2024);
//   - an AWS region: "aws:us-east-1" (US regions: EPA eGRID2019 via Cloud
//     Carbon Footprint; others: their country's OWID value);
//   - an Azure region by programmatic or display name: "azure:westeurope",
//     "azure:West Europe" (Cloud Carbon Footprint);
//   - "world": the world average, WorldAverage.
//
// The returned Intensity has a zero At, Provider "static", and its Zone is the
// canonical form ("FR", "gcp:europe-west4", "world"). A zone not in the tables
// is an error wrapping ErrUnknownZone. Lookup is safe for concurrent use.
func Lookup(zone string) (Intensity, error) {
	t, err := loadTables()
	if err != nil {
		return Intensity{}, err
	}
	return t.lookup(zone)
}

func (t *tables) lookup(zone string) (Intensity, error) {
	z := strings.TrimSpace(zone)
	if len(z) > maxZoneSize {
		return Intensity{}, fmt.Errorf("%w: zone of %d bytes is too long", ErrUnknownZone, len(z))
	}
	lower := strings.ToLower(z)
	if lower == worldZone || lower == "owid_wrl" {
		return worldIntensity(), nil
	}
	if i := strings.IndexByte(lower, ':'); i > 0 {
		cloud, name := strings.TrimSpace(lower[:i]), strings.TrimSpace(lower[i+1:])
		switch cloud {
		case cloudGCP, cloudAWS, cloudAzure:
			if cloud == cloudAzure {
				name = strings.Join(strings.Fields(name), "")
			}
			r := t.regions[cloud+":"+name]
			if r == nil {
				return Intensity{}, fmt.Errorf("%w: no %s region %q in the embedded tables", ErrUnknownZone, cloud, clip(name))
			}
			return r.intensity(), nil
		}
	}
	if c := t.byKey[normKey(z)]; c != nil {
		if !c.hasData {
			return Intensity{}, fmt.Errorf("%w: no intensity data for %s (%s)", ErrUnknownZone, c.alpha2, c.name)
		}
		return c.intensity(), nil
	}
	if keys := t.bare[lower]; len(keys) > 0 {
		return Intensity{}, fmt.Errorf("%w: %q: cloud regions need their cloud's prefix: %s",
			ErrUnknownZone, clip(z), strings.Join(keys, " or "))
	}
	return Intensity{}, fmt.Errorf("%w: %q is not a country (FR, FRA, France), a cloud region "+
		"(gcp:europe-west4, aws:us-east-1, azure:westeurope) or \"world\"", ErrUnknownZone, clip(z))
}

func (c *country) intensity() Intensity {
	return Intensity{
		Value:    GramsPerKWh(c.value),
		Zone:     c.alpha2,
		Provider: staticName,
		Source:   sourceOWID,
		Year:     c.year,
	}
}

func (r *region) intensity() Intensity {
	return Intensity{
		Value:    GramsPerKWh(r.value),
		Zone:     r.cloud + ":" + r.name,
		Provider: staticName,
		Source:   r.source,
		Year:     r.year,
	}
}

func worldIntensity() Intensity {
	return Intensity{
		Value:    WorldAverage,
		Zone:     worldZone,
		Provider: staticName,
		Source:   sourceOWID + ": world average",
		Year:     WorldAverageYear,
	}
}

// Zones returns the canonical zones of the embedded tables, sorted: the
// alpha-2 codes of the countries with data, the cloud regions
// ("aws:eu-west-1", "azure:westeurope", "gcp:europe-west4") and "world".
func Zones() ([]string, error) {
	t, err := loadTables()
	if err != nil {
		return nil, err
	}
	var zs []string
	for _, c := range t.all {
		if c.hasData {
			zs = append(zs, c.alpha2)
		}
	}
	for k := range t.regions {
		zs = append(zs, k)
	}
	zs = append(zs, worldZone)
	sort.Strings(zs)
	return zs, nil
}

// StaticProvider answers the annual average of one zone from the embedded
// tables, offline. When the zone is not in the tables it answers for the
// zone's country (the part before the first '-' or ':', as in Electricity
// Maps' "DK-DK1" or "US-CAL-CISO", or "uk:RG10") or else the world average,
// and says so in Intensity.Fallback and Intensity.Cause. It never fails except
// for a done context. The zero value answers the world average with a
// Fallback. It is immutable and safe for concurrent use.
type StaticProvider struct {
	zone string
}

var _ Provider = StaticProvider{}

// Static returns the offline provider for zone; see Lookup for the zones it
// knows and StaticProvider for its fallbacks.
func Static(zone string) StaticProvider { return StaticProvider{zone: zone} }

// Zone returns the zone the provider was built for, as given.
func (s StaticProvider) Zone() string { return s.zone }

// Intensity returns the zone's annual average, with At set to at (now when at
// is zero).
func (s StaticProvider) Intensity(ctx context.Context, at time.Time) (Intensity, error) {
	if err := ctx.Err(); err != nil {
		return Intensity{}, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	t, err := loadTables()
	if err != nil {
		return Intensity{}, err
	}
	v, cause := t.lookup(s.zone)
	switch {
	case cause == nil:
		v.At = at
		return v, nil
	case !errors.Is(cause, ErrUnknownZone):
		return Intensity{}, cause
	case strings.TrimSpace(s.zone) == "":
		v = worldIntensity()
		v.Fallback = "no zone configured; using the world average"
	default:
		if c := t.countryOf(s.zone); c != nil && c.hasData {
			v = c.intensity()
			v.Fallback = fmt.Sprintf("zone %q is not in the embedded tables; using the annual average of its country %s",
				clip(s.zone), c.alpha2)
		} else {
			v = worldIntensity()
			v.Fallback = fmt.Sprintf("zone %q is not in the embedded tables; using the world average", clip(s.zone))
		}
	}
	v.At, v.Cause = at, cause
	return v, nil
}

// countryOf returns the country named by the prefix of a sub-national zone:
// "DK" of "DK-DK1" (and of the bare price areas "DK1", "DK2"), "US" of
// "US-CAL-CISO", "GB" of "uk:RG10"; nil if none.
func (t *tables) countryOf(zone string) *country {
	z := strings.TrimSpace(zone)
	if _, ok := edsArea(z); ok {
		return t.byKey[normKey("DK")] // Denmark's price areas DK1 and DK2
	}
	i := strings.IndexAny(z, "-:/")
	if i != 2 && i != 3 {
		return nil
	}
	return t.byKey[normKey(z[:i])]
}

// clip shortens untrusted text before it goes into an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
