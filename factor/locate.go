package factor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor/internal/cloudmeta"
	"github.com/carbontrack/carbontrack/factor/internal/tzloc"
)

// Environment variables read when locating the machine.
const (
	// ZoneEnv gives the zone when no option or flag does.
	ZoneEnv = "CARBONTRACK_ZONE"
	// CloudMetadataEnv set to "off" (or "0", "false", "no") stops Locate
	// from asking the cloud metadata services.
	CloudMetadataEnv = "CARBONTRACK_CLOUD_METADATA"
	// MetadataURLEnv sets the base URL of the cloud metadata services
	// (default DefaultMetadataURL), for a proxy or a test.
	MetadataURLEnv = "CARBONTRACK_METADATA_URL"
	// MetadataBudgetEnv sets the total time given to the cloud metadata
	// services as a Go duration ("1s"; default DefaultMetadataBudget), for
	// a slow one.
	MetadataBudgetEnv = "CARBONTRACK_METADATA_BUDGET"
)

// DefaultMetadataURL is the link-local address at which GCP, AWS and Azure
// serve their instance metadata.
const DefaultMetadataURL = cloudmeta.DefaultBaseURL

// DefaultMetadataBudget is the total time Locate gives the cloud metadata
// services, all three asked at once, without retries: on a machine outside
// the clouds the address does not answer, and this is what that costs.
const DefaultMetadataBudget = cloudmeta.DefaultBudget

// LocationMethod says how a Location's zone was found.
type LocationMethod string

// How a zone is found, in the order Locate tries.
const (
	// LocatedGiven: an option, a flag or ZoneEnv named the zone.
	LocatedGiven LocationMethod = "given"
	// LocatedCloud: a cloud instance metadata service named the region.
	LocatedCloud LocationMethod = "cloud"
	// LocatedTimeZone: the system's time zone named the country.
	LocatedTimeZone LocationMethod = "timezone"
	// LocatedDefault: nothing named a zone; the world average is used.
	LocatedDefault LocationMethod = "default"
	// LocatedProvider: the provider serves one zone whatever the
	// location (ukgrid without a postcode: GB).
	LocatedProvider LocationMethod = "provider"
)

// Location is the zone an emission factor is for and how it was found. It
// is a plain value.
type Location struct {
	// Zone is the zone as given or found: "DE", "gcp:europe-west4",
	// "world".
	Zone string
	// Method says how the zone was found.
	Method LocationMethod
	// From says where, for people: "--zone", "CARBONTRACK_ZONE", "the time
	// zone Europe/Berlin", "the GCP metadata service".
	From string
	// Warning, for LocatedDefault, says why no zone was found and how to
	// set one; "" otherwise.
	Warning string
}

// String formats the location for people: "DE (from the time zone
// Europe/Berlin)"; "" for the zero Location.
func (l Location) String() string {
	switch {
	case l.Zone == "":
		return ""
	case l.From == "":
		return l.Zone
	}
	return l.Zone + " (" + l.How() + ")"
}

// How says how the zone was found, for people: "from the time zone
// Europe/Berlin", "from --zone", "no zone given or found".
func (l Location) How() string {
	if l.Method == LocatedDefault || l.From == "" {
		return l.From
	}
	return "from " + l.From
}

// ZoneFor returns the zone to build provider (a ByName name) for: the zone
// as given; a located zone, except for ukgrid, which serves Great Britain
// whatever the time zone says; none when nothing named a zone (the world has
// no live source), so that a live provider asks for one.
func (l Location) ZoneFor(provider string) string {
	name := strings.ToLower(strings.TrimSpace(provider))
	switch {
	case l.Method == LocatedGiven || name == "" || name == ProviderStatic:
		return l.Zone
	case l.Method == LocatedDefault, name == ProviderUKGrid:
		return ""
	}
	return l.Zone
}

// Served returns the location as the provider's answer v shows it: when v
// is for another zone than a located one (ukgrid answers GB), the
// provider's zone, found from the provider; else l.
func (l Location) Served(provider string, v Intensity) Location {
	if l.Method == LocatedGiven || v.Zone == "" || strings.EqualFold(v.Zone, l.Zone) {
		return l
	}
	from := "the emission factor's provider"
	if provider != "" {
		from = "the provider " + provider
	}
	return Location{Zone: v.Zone, Method: LocatedProvider, From: from}
}

// ForLocation builds the provider called name (see ByName) for a location:
// for its zone as given, or as located (ZoneFor). When the zone was located
// rather than given and "live" has no source for it (a cloud region, the
// world, no Electricity Maps token), the zone's table value answers instead
// and note says why; otherwise errors are ByName's.
func ForLocation(name string, loc Location, opts ...Option) (p Provider, note string, err error) {
	p, err = ByName(name, loc.ZoneFor(name), opts...)
	if err == nil || loc.Method == LocatedGiven || !strings.EqualFold(strings.TrimSpace(name), ProviderLive) ||
		!(errors.Is(err, ErrNotSupported) || errors.Is(err, ErrNoToken) || errors.Is(err, ErrInvalid)) {
		return p, "", err
	}
	return Static(loc.Zone), fmt.Sprintf("no live source for %s (%s); its table value is counted",
		loc.Zone, strings.ReplaceAll(err.Error(), "factor: ", "")), nil
}

// Given returns the Location of a zone that the user named, where from
// says how ("--zone", "WithZone", ZoneEnv). The zone is checked: an unknown
// one is an error wrapping ErrUnknownZone that names close matches.
func Given(zone, from string) (Location, error) {
	z := strings.TrimSpace(zone)
	if z == "" {
		return Location{}, fmt.Errorf("%w: empty zone from %s", ErrInvalid, from)
	}
	if err := CheckZone(z); err != nil {
		return Location{}, fmt.Errorf("%s: %w", from, err)
	}
	return Location{Zone: z, Method: LocatedGiven, From: from}, nil
}

// Locate finds the zone of this machine when the caller was given none, in
// this order:
//
//  1. ZoneEnv (an unknown zone there is an error, as for Given);
//  2. a cloud instance metadata service (GCP, AWS with IMDSv2, Azure), all
//     asked at once at DefaultMetadataURL within DefaultMetadataBudget in
//     total and without retries; the region must be in the embedded
//     cloud-region tables. Off with WithCloudMetadata(false) or
//     CloudMetadataEnv=off;
//  3. the system's time zone (TZ, the /etc/localtime link, /etc/timezone),
//     mapped to its country by the tz database's own zone table, embedded:
//     offline;
//  4. "world", the world average, with a Warning that says how to set the
//     zone.
//
// It never uses IP geolocation, which would send the machine's address to a
// third party. Options: WithCloudMetadata, WithMetadataURL,
// WithMetadataBudget, WithHTTPClient (for the metadata services; the
// default has no proxy), WithFileRoot. It fails only for an unknown zone in
// ZoneEnv or a done context.
func Locate(ctx context.Context, opts ...Option) (Location, error) {
	o := buildOptions(opts)
	if l, ok, err := locateEnv(); ok || err != nil {
		return l, err
	}
	if cloudMetadataOn(o) {
		if l, err := locateCloud(ctx, o); err == nil {
			return l, nil
		}
		if err := ctx.Err(); err != nil {
			return Location{}, err
		}
	}
	return locateTimeZone(o), nil
}

// LocateOffline is Locate without its network step: ZoneEnv, the time zone,
// then the world average. It returns at once.
func LocateOffline(opts ...Option) (Location, error) {
	o := buildOptions(opts)
	if l, ok, err := locateEnv(); ok || err != nil {
		return l, err
	}
	return locateTimeZone(o), nil
}

// LocateCloud is Locate's second step alone: the region of this machine
// from a cloud metadata service, within the budget. It fails when the
// services are off, when none answers, and when the region is not in the
// embedded tables (the error names it).
func LocateCloud(ctx context.Context, opts ...Option) (Location, error) {
	o := buildOptions(opts)
	if !cloudMetadataOn(o) {
		return Location{}, fmt.Errorf("%w: cloud metadata services are off", ErrNotSupported)
	}
	return locateCloud(ctx, o)
}

// CloudMetadataEnabled reports whether Locate would ask the cloud metadata
// services with these options and the environment.
func CloudMetadataEnabled(opts ...Option) bool { return cloudMetadataOn(buildOptions(opts)) }

func locateEnv() (Location, bool, error) {
	z := strings.TrimSpace(os.Getenv(ZoneEnv))
	if z == "" {
		return Location{}, false, nil
	}
	l, err := Given(z, ZoneEnv)
	return l, true, err
}

func cloudMetadataOn(o options) bool {
	if o.metadataSet {
		return o.metadataOn
	}
	switch strings.ToLower(strings.TrimSpace(os.Getenv(CloudMetadataEnv))) {
	case "off", "0", "false", "no":
		return false
	}
	return true
}

func locateCloud(ctx context.Context, o options) (Location, error) {
	base := o.metadataURL
	if base == "" {
		base = os.Getenv(MetadataURLEnv)
	}
	budget := o.metadataBudget
	if budget <= 0 {
		if d, err := time.ParseDuration(os.Getenv(MetadataBudgetEnv)); err == nil && d > 0 {
			budget = d
		}
	}
	if budget <= 0 {
		budget = DefaultMetadataBudget
	}
	var client *http.Client
	if o.client != http.DefaultClient {
		client = o.client
	}
	r, err := cloudmeta.Locate(ctx, base, client, budget)
	if err != nil {
		return Location{}, fmt.Errorf("factor: locate: %w", err)
	}
	zone := r.Zone()
	if err := CheckZone(zone); err != nil {
		return Location{}, fmt.Errorf("factor: locate: %s reported region %s: %w", r.From, zone, err)
	}
	return Location{Zone: zone, Method: LocatedCloud, From: r.From}, nil
}

// noZone is a LocatedDefault Location's From.
const noZone = "no zone given or found"

func locateTimeZone(o options) Location {
	tz := tzloc.FindLocal(os.Getenv, o.fileRoot)
	why := "no cloud metadata, no time zone"
	if tz.Name != "" {
		cc, ok := tzloc.Country(tz.Name)
		if ok {
			if _, err := Lookup(cc); err == nil {
				return Location{Zone: cc, Method: LocatedTimeZone, From: "the time zone " + tz.Name}
			}
		}
		why = "the time zone " + tz.Name + " names no country"
		if ok {
			why = "no table value for " + cc + ", the country of the time zone " + tz.Name
		}
	}
	return Location{Zone: worldZone, Method: LocatedDefault, From: noZone,
		Warning: "no zone given or found (" + why + "): the world average is counted; " +
			"set the zone with --zone or " + ZoneEnv + " (a country such as DE, a cloud region such as gcp:europe-west4)"}
}
