package tzloc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// env returns a getenv serving vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

var noEnv = env(nil)

// fakeRoot builds a root with an /etc directory.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "etc"), 0o755))
	return root
}

func symlinkLocaltime(t *testing.T, root, target string) {
	t.Helper()
	require.NoError(t, os.Symlink(target, filepath.Join(root, "etc", "localtime")))
}

func writeFile(t *testing.T, root, name, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(data), 0o644))
}

func TestFindLocalTZ(t *testing.T) {
	// TZ wins over the files.
	root := fakeRoot(t)
	symlinkLocaltime(t, root, "/usr/share/zoneinfo/Europe/Berlin")
	writeFile(t, root, "etc/timezone", "Europe/Berlin\n")

	for _, tc := range []struct {
		tz   string
		want Local
	}{
		{"Europe/Paris", Local{"Europe/Paris", "TZ"}},
		{":Europe/Paris", Local{"Europe/Paris", "TZ"}},
		{"/usr/share/zoneinfo/Asia/Tokyo", Local{"Asia/Tokyo", "TZ"}},
		{":/usr/share/zoneinfo/posix/Asia/Tokyo", Local{"Asia/Tokyo", "TZ"}},
		{"America/Argentina/Buenos_Aires", Local{"America/Argentina/Buenos_Aires", "TZ"}},
		{"Etc/GMT+5", Local{"Etc/GMT+5", "TZ"}},
		{"UTC", Local{"UTC", "TZ"}},
		{"EST5EDT", Local{"EST5EDT", "TZ"}},
		{"Japan", Local{"Japan", "TZ"}},
		{"posix/Europe/Paris", Local{"Europe/Paris", "TZ"}},
		// POSIX rules and other values give no name, and stop the search.
		{"UTC0", Local{From: "TZ"}},
		{"JST-9", Local{From: "TZ"}},
		{"CET-1CEST,M3.5.0,M10.5.0/3", Local{From: "TZ"}},
		{"<+0330>-3:30", Local{From: "TZ"}},
		{":", Local{From: "TZ"}},
		{"/etc/zones/mine", Local{From: "TZ"}},
		{"/usr/share/zoneinfo/../../../etc/passwd", Local{From: "TZ"}},
		{"Europe/Berlin/", Local{From: "TZ"}},
		{strings.Repeat("A/", 200), Local{From: "TZ"}},
		// TZ naming /etc/localtime reads it.
		{":/etc/localtime", Local{"Europe/Berlin", "/etc/localtime"}},
		{"/etc/localtime", Local{"Europe/Berlin", "/etc/localtime"}},
	} {
		got := FindLocal(env(map[string]string{"TZ": tc.tz}), root)
		assert.Equal(t, tc.want, got, "TZ=%q", tc.tz)
	}
}

func TestFindLocalLocaltime(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   string
	}{
		{"/usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin"},
		{"../usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin"},
		{"/usr/share/zoneinfo/posix/Europe/Berlin", "Europe/Berlin"},
		{"/usr/share/zoneinfo/right/Europe/Berlin", "Europe/Berlin"},
		{"/etc/zoneinfo/America/New_York", "America/New_York"}, // NixOS
		{"/var/db/timezone/zoneinfo/Asia/Tokyo", "Asia/Tokyo"}, // macOS
		{"/usr/share/zoneinfo/Etc/UTC", "Etc/UTC"},
	} {
		root := fakeRoot(t)
		symlinkLocaltime(t, root, tc.target)
		writeFile(t, root, "etc/timezone", "Asia/Kolkata\n") // loses to the link
		got := FindLocal(noEnv, root)
		assert.Equal(t, Local{Name: tc.want, From: "/etc/localtime"}, got, tc.target)
	}
}

func TestFindLocalTimezone(t *testing.T) {
	// A regular file at /etc/localtime, as copied into containers, names
	// nothing; /etc/timezone does.
	root := fakeRoot(t)
	writeFile(t, root, "etc/localtime", "TZif2\x00\x00binary")
	writeFile(t, root, "etc/timezone", "Europe/Berlin\n")
	assert.Equal(t, Local{"Europe/Berlin", "/etc/timezone"}, FindLocal(noEnv, root))

	// So does a link whose target names no zone.
	root = fakeRoot(t)
	symlinkLocaltime(t, root, "/nowhere/localtime")
	writeFile(t, root, "etc/timezone", "Europe/Berlin\n")
	assert.Equal(t, Local{"Europe/Berlin", "/etc/timezone"}, FindLocal(noEnv, root))

	for _, tc := range []struct {
		data string
		want string
	}{
		{"Europe/Berlin", "Europe/Berlin"},
		{"Europe/Berlin \r\n", "Europe/Berlin"},
		{"  Asia/Tokyo\t\n", "Asia/Tokyo"},
		{"# set by installer\n\nAmerica/New_York\n", "America/New_York"},
		{"posix/Europe/Paris\n", "Europe/Paris"},
		{"Etc/UTC\n" + strings.Repeat("x", 1000), "Etc/UTC"},
		// Garbage names nothing.
		{"", ""},
		{"\n\n# only comments\n", ""},
		{"not a zone name\n", ""},
		{"../../etc/passwd\n", ""},
		{strings.Repeat("A", 1000), ""},
		{"\x00\x01\x02", ""},
	} {
		root := fakeRoot(t)
		writeFile(t, root, "etc/timezone", tc.data)
		want := Local{}
		if tc.want != "" {
			want = Local{Name: tc.want, From: "/etc/timezone"}
		}
		assert.Equal(t, want, FindLocal(noEnv, root), "%q", tc.data)
	}
}

func TestFindLocalNothing(t *testing.T) {
	assert.Equal(t, Local{}, FindLocal(noEnv, t.TempDir()))
	assert.Equal(t, Local{}, FindLocal(noEnv, filepath.Join(t.TempDir(), "missing")))
	assert.Equal(t, Local{}, FindLocal(env(map[string]string{"TZ": ""}), fakeRoot(t)))

	// /etc/timezone as a directory.
	root := fakeRoot(t)
	require.NoError(t, os.Mkdir(filepath.Join(root, "etc", "timezone"), 0o755))
	assert.Equal(t, Local{}, FindLocal(noEnv, root))
}

func TestFindLocalReal(t *testing.T) {
	// The real machine: whatever is found must be well-formed.
	got := FindLocal(nil, "")
	if got.Name != "" {
		assert.True(t, validName(got.Name), got.Name)
		assert.NotEmpty(t, got.From)
	}
}
