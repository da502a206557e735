package power

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testCheck = libraryCheck{
	what:    "vendor",
	want:    "the vendor library (libvendor.so.1)",
	hint:    "point --vendor-lib at libvendor.so.1",
	symbols: []symbolGroup{{"vInit_v2", "vInit"}, {"vShutdown"}, {"vRead"}, {"vName"}, {"vPower"}},
}

func TestLibraryCheckVerdict(t *testing.T) {
	has := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, m := range names {
				if m == n {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		name    string
		exports []string
		missing []string
		want    string
	}{
		{"complete", []string{"vInit_v2", "vShutdown", "vRead", "vName", "vPower"}, nil, ""},
		{"older version of a function", []string{"vInit", "vShutdown", "vRead", "vName", "vPower"}, nil, ""},
		{"other library", []string{"deflate"}, []string{"vInit_v2", "vShutdown", "vRead", "vName", "vPower"},
			"power: vendor: /x/libz.so.1 is not the vendor library (libvendor.so.1): it exports none of its functions (such as vInit_v2); point --vendor-lib at libvendor.so.1"},
		{"incomplete", []string{"vInit", "vShutdown"}, []string{"vRead", "vName", "vPower"},
			"power: vendor: /x/libz.so.1 is not a complete the vendor library (libvendor.so.1): it lacks vRead, vName, vPower (a stub, or too old a version); point --vendor-lib at libvendor.so.1"},
		{"many missing", []string{"vShutdown"}, []string{"vInit_v2", "vRead", "vName", "vPower"},
			"it lacks vInit_v2, vRead, vName and 1 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			missing := testCheck.missing(has(tc.exports...))
			assert.Equal(t, tc.missing, missing)
			err := testCheck.verdict("/x/libz.so.1", missing)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.ErrorIs(t, err, ErrNotFound)
		})
	}
}
