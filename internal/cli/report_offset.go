package cli

import (
	"fmt"
	"io"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// reportOffsetJSON is what offsetting the total would cost, in report's
// --json (with --offset-price and --currency; absent otherwise).
type reportOffsetJSON struct {
	Cost          float64 `json:"offset_cost"`
	Currency      string  `json:"offset_currency"`
	PricePerTonne float64 `json:"offset_price_per_tonne"`
	Caveat        string  `json:"offset_caveat"`
}

// totalOffset prices the offsetting of the total's emissions at the price
// given per tonne CO2e (estimate.OffsetCost); nil without a price.
func totalOffset(t runlog.Total, price float64, currency string) *reportOffsetJSON {
	cost, cur, err := estimate.OffsetCost(t.Used.Grams/1000, price, currency)
	if err != nil || cur == "" {
		return nil
	}
	return &reportOffsetJSON{Cost: cost, Currency: cur, PricePerTonne: price, Caveat: estimate.OffsetCaveat}
}

// printOffset says what offsetting the total would cost, under the tables.
func printOffset(w io.Writer, o *reportOffsetJSON) {
	if o == nil {
		return
	}
	fmt.Fprintf(w, "\nOffsetting the total's emissions would cost %s %s at %s %s per tonne CO2e (price given). %s\n",
		human(o.Cost), o.Currency, human(o.PricePerTonne), o.Currency, o.Caveat)
}

// checkOffset checks an offset price and its currency as the estimator
// does (estimate.OffsetCost), with a message for the command line.
func checkOffset(price float64, currency string) error {
	_, _, err := estimate.OffsetCost(0, price, currency)
	return err
}
