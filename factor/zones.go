package factor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CheckZone reports whether zone names something this package can answer
// for: a zone of Lookup (a country by alpha-2 or alpha-3 code or English
// name, a cloud region with its cloud's prefix, "world"), one of Denmark's
// price areas ("DK1", "DK-DK2"), Great Britain's postcode regions ("uk:RG10")
// or an Electricity Maps zone whose prefix is a known country
// ("US-CAL-CISO"). The empty zone is accepted: it means "not given". For
// anything else it returns an error wrapping ErrUnknownZone that names the
// closest zones ("did you mean DE (Germany)?"), so that a typo is caught
// before work starts rather than silently counted at the world average.
func CheckZone(zone string) error {
	z := strings.TrimSpace(zone)
	if z == "" {
		return nil
	}
	return checkZoneKnown(z)
}

// checkZoneKnown accepts a zone of the tables, a live-only zone, or a
// sub-national zone whose prefix is a known country.
func checkZoneKnown(z string) error {
	t, err := loadTables()
	if err != nil {
		return err
	}
	_, lerr := t.lookup(z)
	if lerr == nil {
		return nil
	}
	if !errors.Is(lerr, ErrUnknownZone) {
		return lerr
	}
	if _, ok := edsArea(z); ok {
		return nil
	}
	if c := t.countryOf(z); c != nil {
		return nil
	}
	if s := t.suggest(z); len(s) > 0 {
		return fmt.Errorf("%w; did you mean %s?", lerr, strings.Join(s, " or "))
	}
	return lerr
}

// maxSuggestions bounds the zones an unknown zone's error names.
const maxSuggestions = 3

// suggest returns, for people, up to maxSuggestions zones closest to z by
// edit distance ("DE (Germany)", "gcp:europe-west4"), nearest first; none
// when nothing is close enough to be the zone meant.
func (t *tables) suggest(z string) []string {
	q := normKey(z)
	if len(z) > maxZoneSize || len(q) < 3 || len(t.bare[q]) > 0 {
		return nil // too short to guess, or the error already says
	}
	if i := strings.IndexByte(q, ':'); i > 0 && strings.TrimSpace(q[:i]) == cloudAzure {
		q = cloudAzure + ":" + strings.Join(strings.Fields(q[i+1:]), "")
	}
	// A typo is at most a third of the word (one letter in a code).
	limit := len([]rune(q)) / 3
	type cand struct {
		show string
		d    int
	}
	var found []cand
	add := func(key, show string) {
		d := editDistance(q, key, limit)
		if d > limit {
			return
		}
		for i := range found {
			if found[i].show == show {
				found[i].d = min(found[i].d, d)
				return
			}
		}
		found = append(found, cand{show, d})
	}
	for key, c := range t.byKey {
		if c.hasData {
			add(key, c.alpha2+" ("+c.public().Name+")")
		}
	}
	for key := range t.regions {
		add(key, key)
	}
	for bare, keys := range t.bare {
		for _, k := range keys {
			add(bare, k)
		}
	}
	add(worldZone, worldZone)
	slices.SortFunc(found, func(a, b cand) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.show, b.show)
	})
	var out []string
	for _, c := range found[:min(len(found), maxSuggestions)] {
		out = append(out, c.show)
	}
	return out
}

// editDistance returns the Levenshtein distance between a and b, in runes,
// or limit+1 as soon as it is known to exceed limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
