package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

// zoneEnv and regionEnv are the environment twins of --zone and --region.
const (
	zoneEnv   = factor.ZoneEnv
	regionEnv = "CARBONTRACK_REGION"
)

// givenZone returns the zone that --zone or --region gives, or their
// environment twins, with where it came from; ok is false when none gives
// one (an empty value is none: the machine is located). The zone is checked
// where it is used, with the provider that serves it (a UK postcode is a
// zone for ukgrid only). Given on the command line, either wins over the
// other's twin: the loser is then cleared in f; both in one layer are an
// error.
func givenZone(f *cliFlags) (loc factor.Location, ok bool, err error) {
	zone := strings.TrimSpace(f.Lookup("zone").Value.String())
	region := strings.TrimSpace(f.Lookup("region").Value.String())
	if zone != "" && region != "" {
		switch {
		case f.onCmdLine["zone"] && f.onCmdLine["region"]:
			return loc, false, errors.New("give --zone or --region, not both")
		case f.fromEnv["zone"] && f.fromEnv["region"]:
			return loc, false, fmt.Errorf("%s and %s are both set: unset one, or give --zone or --region",
				f.twins["zone"], f.twins["region"])
		case f.onCmdLine["region"]:
			zone = ""
			_ = f.Set("zone", "")
		default:
			region = ""
			_ = f.Set("region", "")
		}
	}
	name, v := "zone", zone
	if v == "" {
		name, v = "region", region
	}
	if v == "" {
		return loc, false, nil
	}
	from := "--" + name
	if f.fromEnv[name] {
		from = f.twins[name]
	}
	return factor.Location{Zone: v, Method: factor.LocatedGiven, From: from}, true, nil
}

// locateZone returns the zone given, or else, unless skip, locates the
// machine (within factor.DefaultMetadataBudget) and, when w is not nil,
// warns on it when nothing names a zone.
func locateZone(ctx context.Context, f *cliFlags, skip bool, w io.Writer, prog string) (factor.Location, error) {
	loc, ok, err := givenZone(f)
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
