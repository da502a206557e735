// Package factor answers "how many grams of CO2e per kWh, here, at this
// time": offline from embedded tables by default, live from grid operators'
// APIs when asked, and with advice on when to start a job to emit least.
//
// It is a leaf of carbontrack: it imports only the standard library, starts
// no goroutines and has no mutable package state. Everything in it is safe
// for concurrent use.
//
// # Usage
//
//	// Offline: annual averages, never fails, no network.
//	v, err := factor.Lookup("FR")                // 56.039 gCO2e/kWh, OWID 2023
//	v, err = factor.Lookup("gcp:europe-west4")  // 208.81, Google 2024
//
//	// The usual set-up: live where a source serves the zone, then the
//	// embedded tables, cached for 15 minutes.
//	p, err := factor.ForZone("DK-DK1", factor.WithLive())
//	v, err = p.Intensity(ctx, time.Time{})      // v.Fallback says if live failed
//
//	// By hand: a chain live → static country → world, cached.
//	em, err := factor.NewElectricityMaps("DE")   // token: CARBONTRACK_ELECTRICITYMAPS_TOKEN
//	chain, err := factor.NewChain([]factor.Provider{em, factor.Static("DE")})
//	cached, err := factor.NewCache(chain, factor.WithTTL(15*time.Minute))
//
//	// When to start a 6-hour, 300 W job to emit least.
//	fc, err := cached.Forecast(ctx)
//	adv, err := factor.BestStart(fc, time.Now(), factor.Job{Duration: 6 * time.Hour, Watts: 300})
//
// # Zones
//
// Zones are case-insensitive. Countries: ISO 3166-1 alpha-2 or alpha-3 codes
// or English names ("FR", "FRA", "France"; also "UK"). Cloud regions, with
// their cloud's prefix: "gcp:europe-west4", "aws:us-east-1",
// "azure:westeurope" (or "azure:West Europe"). "world" is the world average.
// Live zones: Electricity Maps zone keys ("DE", "US-CAL-CISO"), Danish price
// areas ("DK1", "DK-DK2"), Great Britain ("GB") and its regions by outward
// postcode ("uk:RG10"). A sub-national zone unknown to the tables falls back
// to its country ("DK-DK1" to "DK"), always with Intensity.Fallback saying
// so. CheckZone rejects an unknown zone with ErrUnknownZone and the closest
// zones; ByName builds a provider by name ("static", "live",
// "electricitymaps", "ukgrid", "energidataservice").
//
// # Location
//
// When no zone is given, Locate finds one: ZoneEnv, a cloud instance
// metadata service (GCP, AWS IMDSv2, Azure; 300 ms in all, no retries; off
// with CloudMetadataEnv=off), the system's time zone through the tz
// database's zone table (embedded, offline), else "world" with a Warning.
// A Location says how the zone was found. Nothing is guessed from the IP
// address.
//
// # Providers
//
//   - Fixed: one value.
//   - Static / Lookup: embedded tables (see SOURCES.md in this directory).
//   - ElectricityMaps: API v3, hourly, needs a token (option or
//     CARBONTRACK_ELECTRICITYMAPS_TOKEN).
//   - UKCarbonIntensity: Great Britain, half-hourly, national or regional.
//   - EnergiDataService: Denmark DK1/DK2, 5-minutely.
//   - Chain: first answer of several, recording why the others failed.
//   - Cache: answers kept for a TTL (15 minutes by default).
//
// Live providers send each request under a strict timeout (10 s), retry
// network errors, timeouts and 5xx with exponential backoff and jitter (3
// attempts, from 1 s), honour the context throughout, wait out a short
// Retry-After, and after a 429 send nothing until the server's Retry-After
// (or a pause: 5 minutes for Energi Data Service, 1 minute otherwise) has
// passed. Errors are typed: *HTTPError (StatusCode, RetryAfter) for non-2xx
// answers; ErrTimeout, ErrBadResponse (HTML pages, malformed or truncated
// JSON), ErrNoData (null values, stale or empty series), ErrImplausible
// (negative, NaN or above MaxPlausible, 2000 gCO2e/kWh), ErrRateLimited. A
// provider never answers a number it could not read. API keys are never
// logged, printed, or put in an error.
//
// # Data sources and licences
//
// Countries: Our World in Data, based on Ember and Energy Institute, CC BY
// 4.0 (as packaged by CodeCarbon, MIT). Google Cloud regions:
// GoogleCloudPlatform/region-carbon-info, Apache-2.0. Azure and AWS US
// regions: Cloud Carbon Footprint, Apache-2.0 (EPA eGRID2019 for the US).
// World average: OWID, 483.18 gCO2e/kWh (2023). Details and the derivation
// are in SOURCES.md beside this file; gen_tables.go rebuilds data/ from the
// source files.
package factor
