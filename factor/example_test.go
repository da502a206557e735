package factor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

func ExampleLookup() {
	for _, zone := range []string{"FR", "fra", "France", "gcp:europe-west4", "aws:us-east-1", "aws:eu-west-1", "azure:West Europe"} {
		v, err := factor.Lookup(zone)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-18s %v\n", zone, v)
	}
	_, err := factor.Lookup("europe-west4")
	fmt.Println(errors.Is(err, factor.ErrUnknownZone), err)
	// Output:
	// FR                 56.039 gCO2e/kWh (FR, static, 2023)
	// fra                56.039 gCO2e/kWh (FR, static, 2023)
	// France             56.039 gCO2e/kWh (FR, static, 2023)
	// gcp:europe-west4   208.81 gCO2e/kWh (gcp:europe-west4, static, 2024)
	// aws:us-east-1      415.755 gCO2e/kWh (aws:us-east-1, static, 2019)
	// aws:eu-west-1      290.805 gCO2e/kWh (aws:eu-west-1, static, 2023)
	// azure:West Europe  390 gCO2e/kWh (azure:westeurope, static)
	// true factor: unknown zone: "europe-west4": cloud regions need their cloud's prefix: gcp:europe-west4
}

func ExampleStatic() {
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, zone := range []string{"SE", "SE-SE3", "Atlantis"} {
		v, _ := factor.Static(zone).Intensity(context.Background(), at)
		fmt.Printf("%s: %v [%s]\n", zone, v.Value, v.Fallback)
	}
	// Output:
	// SE: 40.695 gCO2e/kWh []
	// SE-SE3: 40.695 gCO2e/kWh [zone "SE-SE3" is not in the embedded tables; using the annual average of its country SE]
	// Atlantis: 483.18 gCO2e/kWh [zone "Atlantis" is not in the embedded tables; using the world average]
}

func ExampleFixed() {
	v, err := factor.Fixed(120).Intensity(context.Background(), time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(v, err)
	fmt.Printf("%.0f g for 2.5 kWh\n", v.Value.Grams(2.5))
	// Output:
	// 120 gCO2e/kWh (fixed) <nil>
	// 300 g for 2.5 kWh
}

// down is a provider whose source is unreachable.
type down struct{}

func (down) Intensity(context.Context, time.Time) (factor.Intensity, error) {
	return factor.Intensity{}, fmt.Errorf("%w: live source unreachable", factor.ErrTimeout)
}

func ExampleNewChain() {
	chain, err := factor.NewChain([]factor.Provider{down{}, factor.Static("DK-DK1")})
	if err != nil {
		panic(err)
	}
	v, err := chain.Intensity(context.Background(), time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	fmt.Println(v.Value, v.Zone, err)
	fmt.Println(v.Fallback)
	fmt.Println(errors.Is(v.Cause, factor.ErrTimeout), errors.Is(v.Cause, factor.ErrUnknownZone))
	// Output:
	// 151.65 gCO2e/kWh DK <nil>
	// timeout: live source unreachable; answered by static for DK (zone "DK-DK1" is not in the embedded tables; using the annual average of its country DK)
	// true true
}

func ExampleNewCache() {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	src := &countingProvider{}
	cache, err := factor.NewCache(src, factor.WithTTL(15*time.Minute), factor.WithClock(clock))
	if err != nil {
		panic(err)
	}
	for range 3 {
		_, _ = cache.Intensity(context.Background(), time.Time{})
		now = now.Add(5 * time.Minute)
	}
	fmt.Println("requests:", src.calls.Load())
	// Output:
	// requests: 1
}

func ExampleBestStart() {
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	forecast := []factor.Point{
		{At: t0, Value: 400},
		{At: t0.Add(1 * time.Hour), Value: 300},
		{At: t0.Add(2 * time.Hour), Value: 100},
		{At: t0.Add(3 * time.Hour), Value: 200},
		{At: t0.Add(4 * time.Hour), Value: 500},
	}
	// A 2-hour job at 500 W on average.
	adv, err := factor.BestStart(forecast, t0, factor.Job{Duration: 2 * time.Hour, Watts: 500})
	if err != nil {
		panic(err)
	}
	fmt.Printf("start at %s: %.0f g instead of %.0f g now, saving %.0f g (%.1f%%)\n",
		adv.Start.Format("15:04"), adv.Grams, adv.NowGrams, adv.SavedGrams, adv.SavedPercent)
	// Output:
	// start at 02:00: 150 g instead of 350 g now, saving 200 g (57.1%)
}

func ExampleForZone() {
	// Offline (the default): the embedded tables, cached.
	p, err := factor.ForZone("aws:eu-north-1")
	if err != nil {
		panic(err)
	}
	v, _ := p.Intensity(context.Background(), time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(v.Value, v.Source)
	// Output:
	// 40.695 gCO2e/kWh Our World in Data, based on Ember and Energy Institute (CC BY 4.0): country SE of the region
}

func ExampleNewElectricityMaps() {
	// A stand-in for https://api.electricitymap.org.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"zone":"DE","carbonIntensity":302,"datetime":"2019-05-21T00:00:00.000Z",`+
			`"updatedAt":"2019-05-21T00:06:15.000Z","emissionFactorType":"lifecycle","isEstimated":false}`)
	}))
	defer srv.Close()

	em, err := factor.NewElectricityMaps("DE",
		factor.WithToken("my-token"), // or CARBONTRACK_ELECTRICITYMAPS_TOKEN
		factor.WithBaseURL(srv.URL),
		factor.WithHTTPClient(srv.Client()),
		factor.WithTimeout(5*time.Second),
		factor.WithClock(func() time.Time { return time.Date(2019, 5, 21, 0, 20, 0, 0, time.UTC) }))
	if err != nil {
		panic(err)
	}
	v, err := em.Intensity(context.Background(), time.Time{})
	fmt.Println(v, v.At.Format(time.RFC3339), v.Source, err)
	// Output:
	// 302 gCO2e/kWh (DE, electricitymaps) 2019-05-21T00:00:00Z Electricity Maps (lifecycle) <nil>
}

// A misspelled zone is caught with the zones it is closest to.
func ExampleCheckZone() {
	err := factor.CheckZone("Germny")
	fmt.Println(errors.Is(err, factor.ErrUnknownZone))
	fmt.Println(err)
	// Output:
	// true
	// factor: unknown zone: "Germny" is not a country (FR, FRA, France), a cloud region (gcp:europe-west4, aws:us-east-1, azure:westeurope) or "world"; did you mean DE (Germany)?
}

// Given checks a zone the user named and says where it came from.
func ExampleGiven() {
	l, err := factor.Given("FR", "--zone")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l)
	// Output: FR (from --zone)
}
