package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

// zoneEnv and regionEnv are the environment twins of --zone and --region.
const (
	zoneEnv   = factor.ZoneEnv
	regionEnv = "CARBONTRACK_REGION"
)

// givenZone returns the zone that --zone or --region gives, else their
// environment twins, with where it came from; ok is false when none gives
// one. The zone is checked where it is used, with the provider that serves
// it (a UK postcode is a zone for ukgrid only). set holds the flags given on
// the command line.
func givenZone(set map[string]bool, zone, region string) (loc factor.Location, ok bool, err error) {
	zone, region = strings.TrimSpace(zone), strings.TrimSpace(region)
	given := func(z, from string) (factor.Location, bool, error) {
		return factor.Location{Zone: z, Method: factor.LocatedGiven, From: from}, true, nil
	}
	// An empty value is no value, as for run: the machine is located.
	set = map[string]bool{"zone": set["zone"] && zone != "", "region": set["region"] && region != ""}
	envZone, envRegion := strings.TrimSpace(os.Getenv(zoneEnv)), strings.TrimSpace(os.Getenv(regionEnv))
	switch {
	case set["zone"] && set["region"]:
		return loc, false, fmt.Errorf("give --zone or --region, not both")
	case set["zone"]:
		return given(zone, "--zone")
	case set["region"]:
		return given(region, "--region")
	case envZone != "" && envRegion != "":
		return loc, false, fmt.Errorf("%s and %s are both set: unset one, or give --zone or --region", zoneEnv, regionEnv)
	case envZone != "":
		return given(envZone, zoneEnv)
	case envRegion != "":
		return given(envRegion, regionEnv)
	}
	return loc, false, nil
}

// locateZone returns the zone given, or else, unless skip, locates the
// machine (within factor.DefaultMetadataBudget) and, when w is not nil,
// warns on it when nothing names a zone.
func locateZone(ctx context.Context, set map[string]bool, zone, region string, skip bool, w io.Writer, prog string) (factor.Location, error) {
	loc, ok, err := givenZone(set, zone, region)
	if ok || err != nil || skip {
		return loc, err
	}
	if loc, err = factor.Locate(ctx); err != nil {
		return loc, err
	}
	if loc.Warning != "" && w != nil {
		fmt.Fprintf(w, "%s: warning: %s\n", prog, loc.Warning)
	}
	return loc, nil
}

// intensityNow asks p for the intensity now within ctx; when p fails (its
// live source did not answer in time) its table value answers, with the
// failure in Fallback.
func intensityNow(ctx context.Context, p factor.Provider, name string) (factor.Intensity, error) {
	now := time.Now()
	v, err := p.Intensity(ctx, now)
	if err == nil {
		return v, nil
	}
	off, ok := p.(factor.OfflineFallback)
	if !ok {
		return v, err
	}
	q, ok := off.Offline()
	if !ok {
		return v, err
	}
	tv, terr := q.Intensity(context.WithoutCancel(ctx), now)
	if terr != nil {
		return v, err
	}
	tv.Fallback = fmt.Sprintf("%s: %s; answered by %s", name, plainError(err), tv.Provider)
	tv.Cause = err
	return tv, nil
}

// plainError is err's message without the package prefixes of the library
// ("tracker: ", "factor: "), which say nothing to a user of the command.
func plainError(err error) string {
	msg := err.Error()
	for _, p := range []string{"tracker: ", "factor: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}
