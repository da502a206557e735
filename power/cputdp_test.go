package power

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cpuTDPRowCount is the number of models in data/cpu_tdp.csv (4,903 rows in
// the CodeCarbon source, less the rows its header says were dropped or
// merged).
const cpuTDPRowCount = 4590

// TestCPUTDPLookup checks LookupCPU on "model name" strings as real machines
// print them in /proc/cpuinfo. Every expected TDP was checked against
// codecarbon/data/hardware/cpu_power.csv (the row named in the comment where
// the table's name differs).
func TestCPUTDPLookup(t *testing.T) {
	tests := []struct {
		in    string
		name  string // "" for unknown
		tdp   Watts
		cores int
	}{
		// Intel Xeon E5 v1 to v4 (Sandy Bridge-EP to Broadwell-EP).
		{"Intel(R) Xeon(R) CPU E5-2680 0 @ 2.70GHz", "Intel Xeon E5-2680", 130, 0},
		{"Intel(R) Xeon(R) CPU E5-2670 v2 @ 2.50GHz", "Intel Xeon E5-2670 v2", 115, 0},
		{"Intel(R) Xeon(R) CPU E5-2630 v3 @ 2.40GHz", "Intel Xeon E5-2630 v3", 85, 0},
		{"Intel(R) Xeon(R) CPU E5-2699 v3 @ 2.30GHz", "Intel Xeon E5-2699 v3", 145, 0},
		{"Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "Intel Xeon E5-2680 v4", 120, 0},
		{"Intel(R) Xeon(R) CPU E5-2698 v4 @ 2.20GHz", "Intel Xeon E5-2698 v4", 135, 0},
		{"Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "Intel Xeon E5-2686 v4", 145, 0}, // AWS
		// Intel Xeon Scalable, 1st (Skylake) to 5th (Emerald Rapids) gen.
		{"Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz", "Intel Xeon Silver 4114", 85, 0},
		{"Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "Intel Xeon Gold 6148", 150, 0},
		{"Intel(R) Xeon(R) Platinum 8168 CPU @ 2.70GHz", "Intel Xeon Platinum 8168", 205, 0},
		{"Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", "Intel Xeon Silver 4214", 85, 0},
		{"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Intel Xeon Gold 6248", 150, 0},
		{"Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", "Intel Xeon Gold 6248R", 205, 0},
		{"Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "Intel Xeon Platinum 8259CL", 210, 0}, // AWS
		{"Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz", "Intel Xeon Platinum 8280", 205, 0},
		{"Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", "Intel Xeon Silver 4314", 135, 0},
		{"Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "Intel Xeon Gold 6338", 205, 0},
		{"Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", "Intel Xeon Platinum 8380", 270, 0},
		{"Intel(R) Xeon(R) Gold 6430", "Intel Xeon Gold 6430", 270, 0},
		{"Intel(R) Xeon(R) Platinum 8480+", "Intel Xeon Platinum 8480+", 350, 0},
		{"INTEL(R) XEON(R) PLATINUM 8592+", "Intel Xeon Platinum 8592+", 350, 0},
		{"Intel(R) Xeon(R) CPU Max 9480", "Intel Xeon CPU Max 9480", 350, 0},
		{"Intel(R) Xeon(R) W-2295 CPU @ 3.00GHz", "Intel Xeon W-2295", 165, 0},
		// Intel Core, desktop (K) and mobile (U, H, G7), 1st to 13th gen.
		{"Intel(R) Core(TM) i7 CPU 920 @ 2.67GHz", "Intel Core i7-920", 130, 0},
		{"Intel(R) Core(TM)2 Duo CPU E8400 @ 3.00GHz", "Intel Core 2 Duo E8400", 65, 0},
		{"Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", "Intel Core i5-8250U", 15, 0},
		{"Intel(R) Core(TM) i5-10210U CPU @ 1.60GHz", "Intel Core i5-10210U", 15, 0},
		{"Intel(R) Core(TM) i7-8750H CPU @ 2.20GHz", "Intel Core i7-8750H", 45, 0},
		{"Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz", "Intel Core i7-10750H", 45, 0},
		{"Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz", "Intel Core i9-9900K", 95, 0},
		{"Intel(R) Core(TM) i9-10900K CPU @ 3.70GHz", "Intel Core i9-10900K", 125, 0},
		{"11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", "Intel Core i7-1165G7", 28, 0},
		{"12th Gen Intel(R) Core(TM) i7-12700H", "Intel Core i7-12700H", 45, 0},
		// The source gives the 190 W maximum turbo power, not the 125 W base.
		{"12th Gen Intel(R) Core(TM) i7-12700K", "Intel Core i7-12700K", 190, 0},
		{"13th Gen Intel(R) Core(TM) i9-13900K", "Intel Core i9-13900K", 125, 0},
		{"Intel(R) Core(TM) i9-13900K", "Intel Core i9-13900K", 125, 0},
		{"Intel(R) Core(TM) Ultra 7 155H", "Intel Core Ultra 7 155H", 28, 0},
		// Not in the source, and neither is any "i7-13700" or "i9-12900"
		// to be mistaken for them.
		{"13th Gen Intel(R) Core(TM) i7-13700H", "", 0, 0},
		{"12th Gen Intel(R) Core(TM) i9-12900K", "", 0, 0},
		// AMD EPYC 7001 to 9004.
		{"AMD EPYC 7601 32-Core Processor", "AMD EPYC 7601", 180, 32},
		{"AMD EPYC 7742 64-Core Processor", "AMD EPYC 7742", 225, 64},
		{"AMD EPYC 7452 32-Core Processor", "AMD EPYC 7452", 155, 32},
		{"AMD EPYC 7H12 64-Core Processor", "AMD EPYC 7H12", 280, 64},
		{"AMD EPYC 7B12", "AMD EPYC 7B12", 240, 0}, // GCP
		{"AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763", 280, 64},
		{"AMD EPYC 7543 32-Core Processor", "AMD EPYC 7543", 225, 32},
		{"AMD EPYC 7R13 Processor", "AMD EPYC 7R13", 225, 0}, // AWS
		{"AMD EPYC 7B13", "", 0, 0},                          // GCP: not in the source
		{"AMD EPYC 7V13 64-Core Processor", "", 0, 64},       // Azure: not in the source
		{"AMD EPYC 9654 96-Core Processor", "AMD EPYC 9654", 360, 96},
		{"AMD EPYC 9754 128-Core Processor", "AMD EPYC 9754", 360, 128},
		// AMD Ryzen and Threadripper.
		{"AMD Ryzen 5 3600 6-Core Processor", "AMD Ryzen 5 3600", 65, 6},
		{"AMD Ryzen 9 3900X 12-Core Processor", "AMD Ryzen 9 3900X", 105, 12},
		{"AMD Ryzen 7 5800X 8-Core Processor", "AMD Ryzen 7 5800X", 105, 8},
		{"AMD Ryzen 7 5800X3D 8-Core Processor", "AMD Ryzen 7 5800X3D", 105, 8},
		{"AMD Ryzen 9 5950X 16-Core Processor", "AMD Ryzen 9 5950X", 105, 16},
		{"AMD Ryzen 9 7950X 16-Core Processor", "AMD Ryzen 9 7950X", 170, 16},
		{"AMD Ryzen 7 5800H with Radeon Graphics", "AMD Ryzen 7 5800H", 45, 0},
		{"AMD Ryzen 7 7840U w/ Radeon  780M Graphics", "AMD Ryzen 7 7840U", 28, 0},
		// Source: "AMD Ryzen 5 3580U Microsoft Surface® Edition".
		{"AMD Ryzen 5 3580U with Radeon Vega Mobile Gfx", "AMD Ryzen 5 3580U", 15, 0},
		{"AMD Ryzen Threadripper 2990WX 32-Core Processor", "AMD Ryzen Threadripper 2990WX", 250, 32},
		{"AMD Ryzen Threadripper 3990X 64-Core Processor", "AMD Ryzen Threadripper 3990X", 280, 64},
		{"AMD Ryzen Threadripper PRO 3995WX 64-Cores", "AMD Ryzen Threadripper PRO 3995WX", 280, 64},
		{"AMD Ryzen Threadripper PRO 5995WX 64-Cores", "AMD Ryzen Threadripper PRO 5995WX", 280, 64},
		// Older AMD.
		{"AMD Opteron(tm) Processor 6380", "AMD Opteron 6380", 115, 0},
		{"AMD FX(tm)-8350 Eight-Core Processor", "AMD FX-8350", 125, 0},
		{"AMD Phenom(tm) II X6 1075T Processor", "AMD Phenom II X6 1075T", 125, 0},
		{"AMD Athlon(tm) 64 X2 Dual Core Processor 3800+", "AMD Athlon 64 X2 3800+", 89, 0},
		// Source: "AMD 7th Gen A10-9600P APU" and "7th Gen A10-9600P APU".
		{"AMD A10-9600P RADEON R5, 10 COMPUTE CORES 4C+6G", "AMD A10-9600P APU", 15, 0},
		// Unknown: generic or virtual CPUs, and empty names.
		{"AMD EPYC", "", 0, 0},
		{"Intel(R) Xeon(R) CPU @ 2.20GHz", "", 0, 0},
		{"Intel(R) Xeon(R) CPU 2.20GHz", "", 0, 0},
		{"QEMU Virtual CPU version 2.5+", "", 0, 0},
		{"Common KVM processor", "", 0, 0},
		{"Intel Core Processor (Skylake, IBRS)", "", 0, 0},
		{"", "", 0, 0},
		{"  (R)  ", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := LookupCPU(tt.in)
			assert.Equal(t, tt.name != "", ok, "ok")
			assert.Equal(t, CPUModel{Name: tt.name, TDP: tt.tdp, Cores: tt.cores}, got)
		})
	}
}

// TestCPUTDPFallback checks the prefix fallback on small tables: a table
// name matches the first whole words of a model name, never part of a
// number, and never when the next word is a model suffix.
func TestCPUTDPFallback(t *testing.T) {
	const both = "Name,TDP\nIntel Xeon Gold 6248,150\nIntel Xeon Gold 6248R,205\n"
	tests := []struct {
		table, in string
		name      string // "" for unknown
	}{
		{both, "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Intel Xeon Gold 6248"},
		{both, "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", "Intel Xeon Gold 6248R"},
		{"Name,TDP\nIntel Xeon Gold 6248R,205\n", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", ""},
		{"Name,TDP\nIntel Xeon Gold 6248,150\n", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", ""},
		{"Name,TDP\nIntel Core i7-13700,65\n", "13th Gen Intel(R) Core(TM) i7-13700H", ""},
		{"Name,TDP\nIntel Core i7-13700H,45\n", "13th Gen Intel(R) Core(TM) i7-13700", ""},
		{"Name,TDP\nIntel Xeon E5-2698,135\n", "Intel(R) Xeon(R) CPU E5-2698 v4 @ 2.20GHz", ""},
		{"Name,TDP\nAMD Opteron 6366,115\n", "AMD Opteron(tm) Processor 6366 HE", ""},
		{"Name,TDP\nAMD EPYC 77,1\n", "AMD EPYC 7763 64-Core Processor", ""},
		{"Name,TDP\nAMD EPYC 7763,280\n", "AMD EPYC", ""},
		{"Name,TDP\nAMD Ryzen 7,65\n", "AMD Ryzen 7 5800X 8-Core Processor", ""},
		// Extra words after the model are ignored, and the longest
		// table name wins whatever the table's order.
		{"Name,TDP\nIntel Xeon Gold,1\nIntel Xeon Gold 6248,150\nIntel Xeon,1\n",
			"Intel(R) Xeon(R) Gold 6248 Engineering Sample", "Intel Xeon Gold 6248"},
		{"Name,TDP\nAMD Athlon X4 860K,95\n", "AMD Athlon(tm) X4 860K Quad-Core-Ready Processor", "AMD Athlon X4 860K"},
		// The vendor is optional on both sides.
		{"Name,TDP\nXeon Gold 6248,150\n", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Xeon Gold 6248"},
		{both, "Xeon Gold 6248", "Intel Xeon Gold 6248"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := lookupCPU(tt.table, tt.in)
			assert.Equal(t, tt.name != "", ok, "ok")
			assert.Equal(t, tt.name, got.Name)
		})
	}
}

// TestCPUTDPTableFindsEveryRow checks that every row of the embedded table is
// found, exactly, by its own name: no two names normalise alike. It runs the
// lookup's matcher against the whole table for each row, with the table's
// normalised names computed once, and LookupCPU itself on a sample.
func TestCPUTDPTableFindsEveryRow(t *testing.T) {
	type row struct {
		name string
		tdp  Watts
		key  []byte
	}
	var rows []row
	require.NoError(t, eachCPURow(cpuTDPCSV, func(name string, tdp Watts) bool {
		key, _ := appendCPUKey(nil, name)
		rows = append(rows, row{name, tdp, key})
		return true
	}))
	require.Len(t, rows, cpuTDPRowCount)

	for i, r := range rows {
		m := newCPUMatch(r.name)
		require.Equal(t, string(r.key), string(m.in), r.name)
		for _, o := range rows {
			if !m.offer(o.key, o.name, o.tdp) {
				break
			}
		}
		got, ok := m.result()
		if !assert.True(t, ok && m.exact, "%q (%q) not found exactly", r.name, r.key) {
			continue
		}
		assert.Equal(t, CPUModel{Name: r.name, TDP: r.tdp}, got, "normalised %q", r.key)
		if i%97 == 0 || i == len(rows)-1 {
			got, ok := LookupCPU(r.name)
			assert.True(t, ok, r.name)
			assert.Equal(t, CPUModel{Name: r.name, TDP: r.tdp}, got)
		}
	}
}

// TestCPUTDPTable checks the embedded table's content: the same rows as
// encoding/csv reads, names clean and unique, TDPs plausible.
func TestCPUTDPTable(t *testing.T) {
	r := csv.NewReader(strings.NewReader(cpuTDPCSV))
	r.Comment = '#'
	recs, err := r.ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"Name", "TDP"}, recs[0])
	recs = recs[1:]

	i := 0
	seen := make(map[string]bool)
	require.NoError(t, eachCPURow(cpuTDPCSV, func(name string, tdp Watts) bool {
		require.Less(t, i, len(recs))
		assert.Equal(t, recs[i][0], name)
		assert.Equal(t, recs[i][1], fmt.Sprint(float64(tdp)), name)
		i++
		assert.False(t, seen[strings.ToLower(name)], "duplicate %q", name)
		seen[strings.ToLower(name)] = true
		assert.True(t, utf8.ValidString(name), name)
		assert.Equal(t, strings.Join(strings.Fields(name), " "), name, "white space")
		assert.NotContains(t, name, "(", name)
		assert.Regexp(t, `^(Intel|AMD|Apple) `, name)
		// 0.65 W (Atom Z500) to 500 W (EPYC 9755/9965, Xeon 6980P).
		assert.True(t, tdp >= 0.65 && tdp <= 500, "%q: %v", name, tdp)
		return true
	}))
	assert.Equal(t, len(recs), i)
	assert.Equal(t, cpuTDPRowCount, i)
	assert.True(t, plainCPUTable(cpuTDPCSV), "eachCPURow reads the embedded table without checking it is plain")
	assert.Contains(t, cpuTDPCSV, "# Source: the CodeCarbon project")
	assert.Contains(t, cpuTDPCSV, "# MIT License")
}

// TestCPUTDPTableErrors checks that eachCPURow rejects malformed tables.
func TestCPUTDPTableErrors(t *testing.T) {
	for _, tt := range []struct{ name, data string }{
		{"no header", "Intel Xeon Gold 6248,150\n"},
		{"TDP not a number", "Name,TDP\nIntel Celeron 1200,29.32.9\n"},
		{"zero TDP", "Name,TDP\nIntel Quark Microcontroller D1000,0.0\n"},
		{"negative TDP", "Name,TDP\nX,-1\n"},
		{"NaN TDP", "Name,TDP\nX,NaN\n"},
		{"infinite TDP", "Name,TDP\nX,+Inf\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := eachCPURow(tt.data, func(string, Watts) bool { return true })
			require.ErrorIs(t, err, errCPUTable)
			_, ok := lookupCPU(tt.data, "Intel Xeon Gold 6248")
			assert.False(t, ok)
		})
	}
	err := eachCPURow("Name,TDP\nIntel Xeon Gold 6248,150,W\n", func(string, Watts) bool { return true })
	require.ErrorIs(t, err, csv.ErrFieldCount)

	var names []string
	require.NoError(t, eachCPURow("# comment, with a comma\nName,TDP\n# more\n\"A, B\",1.5\nC,2\n",
		func(name string, tdp Watts) bool {
			names = append(names, fmt.Sprint(name, "=", float64(tdp)))
			return true
		}))
	assert.Equal(t, []string{"A, B=1.5", "C=2"}, names)
}

// FuzzCPUTablePlain checks that a table plainCPUTable accepts is read as
// encoding/csv reads it: the same records, on the same lines.
func FuzzCPUTablePlain(f *testing.F) {
	for _, data := range []string{
		cpuTDPCSV, "Name,TDP\nX,1\n", "# c, \"q\"\nName,TDP\n\n\"A, B\",1.5\nC,2", ",\n,", "Name,TDP\n\"\",1\n",
		"Name,TDP\n\"A\"B,1\n", "Name,TDP\n\"A\",\n", "Name,TDP\nA,\"1\"\n", " \"A\",1\n", "A,1\r\n", "A,1,2\n", "A\n",
		"\"A\n\",1\n", "\"\",\"\"\n", "\"A\"\n", "#\n#,\n", "\xff,\x00\n", "Name,TDP\nA,1\n\n\n#x\nB,2",
	} {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data string) {
		type rec struct {
			line      int
			name, tdp string
		}
		read := func(each func(string, func(int, string, string) (bool, error)) error) ([]rec, string) {
			var recs []rec
			err := each(data, func(line int, name, tdp string) (bool, error) {
				recs = append(recs, rec{line, name, tdp})
				return true, nil
			})
			return recs, fmt.Sprint(err)
		}
		if !plainCPUTable(data) {
			return
		}
		want, wantErr := read(eachCSVCPURecord)
		got, gotErr := read(eachPlainCPURecord)
		assert.Equal(t, wantErr, gotErr)
		assert.Equal(t, want, got)
	})
}

// TestCPUModelCores checks the core count read from "N-Core" and "N-Cores",
// also for models not in the table.
func TestCPUModelCores(t *testing.T) {
	for in, want := range map[string]int{
		"AMD EPYC 7763 64-Core Processor":            64,
		"AMD Ryzen Threadripper PRO 5995WX 64-Cores": 64,
		"AMD EPYC 9754 128-Core Processor":           128,
		"AMD EPYC 7V13 64-Core Processor":            64,
		"AMD FX(tm)-8350 Eight-Core Processor":       0,
		"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz":   0,
		"AMD EPYC 7763 0-Core Processor":             0,
		"AMD EPYC 7763 x-Core Processor":             0,
		"AMD EPYC 7763 99999999999-Core Processor":   0,
	} {
		got, _ := LookupCPU(in)
		assert.Equal(t, want, got.Cores, in)
	}
}

// TestCPUTDPKey checks the normalisation of names.
func TestCPUTDPKey(t *testing.T) {
	for in, want := range map[string]string{
		"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz":         "xeon gold 6248",
		"13th Gen Intel(R) Core(TM) i7-13700H":             "core i7-13700h",
		"AMD Ryzen 9 5950X 16-Core Processor":              "ryzen 9 5950x",
		"AMD FX(tm)-8350 Eight-Core Processor":             "fx-8350",
		"Intel(R) Core(TM)2 Quad CPU Q6600 @ 2.40GHz":      "core 2 quad q6600",
		"Intel(R) Core(TM) i5 CPU 750 @ 2.67GHz":           "core i5-750",
		"Intel® Xeon® Platinum\u00a08480+":                 "xeon platinum 8480+",
		"Intel™ Atom\u200b E625CT":                         "atom e625ct",
		"AMD Ryzen 5 3500 Processor (OEM Only)":            "ryzen 5 3500",
		"Intel EP80579 Integrated, 1066 MHz":               "ep80579 integrated 1066 mhz",
		"Intel(R) Pentium(R) 4 CPU 3.00GHz":                "pentium 4",
		"AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics":    "ryzen 7 pro 7840u",
		"AMD 7th Gen AMD PRO A10-9700 APU":                 "pro a10-9700",
		"Intel Xeon (unterminated":                         "xeon",
		"\tINTEL\n(TM)":                                    "",
		"amd intel epyc":                                   "epyc",
		"AMD A10-9600P RADEON R5, 10 COMPUTE CORES 4C+6G":  "a10-9600p",
		"Intel(R) Celeron(R) CPU N3350 @ 1.10GHz":          "celeron n3350",
		"Pentium(R) Dual-Core  CPU      E5200  @ 2.50GHz":  "pentium e5200",
		"AMD Athlon(tm) 64 X2 Dual Core Processor 3800+":   "athlon 64 x2 3800+",
		"AMD Ryzen Threadripper PRO 5995WX 64-Cores":       "ryzen threadripper pro 5995wx",
		"Mobile Intel(R) Pentium(R) 4 - M CPU 2.00GHz":     "mobile intel pentium 4 - m",
		"Intel(R) Xeon(R) CPU E5-2680 0 @ 2.70GHz":         "xeon e5-2680",
		"AMD Athlon(tm) X4 860K Quad-Core-Ready Processor": "athlon x4 860k quad-core-ready",
	} {
		got, _ := appendCPUKey([]byte("prefix|"), in)
		assert.Equal(t, "prefix|"+want, string(got), in)
	}
}

// FuzzCPUTDPKey checks that normalising any name neither panics nor yields
// stray spaces or upper-case ASCII, and that LookupCPU copes.
func FuzzCPUTDPKey(f *testing.F) {
	for _, s := range []string{
		"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
		"AMD EPYC 7763 64-Core Processor",
		"13th Gen Intel(R) Core(TM) i7-13700H",
		"Intel(R) Core(TM) i7 CPU 920 @ 2.67GHz",
		"AMD Athlon(tm) 64 X2 Dual Core",
		"(", "()", "(tm", "i7 9", "13th gen", "dual", "x-cores", "\u00a0", "®™",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		key, _ := appendCPUKey([]byte("p"), name)
		require.Equal(t, byte('p'), key[0])
		k := string(key[1:])
		assert.NotContains(t, k, "  ")
		assert.False(t, strings.HasPrefix(k, " ") || strings.HasSuffix(k, " "), "%q", k)
		assert.False(t, strings.ContainsFunc(k, func(r rune) bool { return 'A' <= r && r <= 'Z' }), "%q", k)
		if m, ok := LookupCPU(name); ok {
			assert.NotEmpty(t, m.Name)
			assert.Positive(t, float64(m.TDP))
		}
	})
}

// ExampleCPUModel shows LookupCPU on a /proc/cpuinfo model name.
func ExampleCPUModel() {
	m, ok := LookupCPU("AMD EPYC 7763 64-Core Processor")
	fmt.Println(ok, m.Name, m.TDP, m.Cores)
	_, ok = LookupCPU("Intel(R) Xeon(R) CPU @ 2.20GHz")
	fmt.Println(ok)
	// Output:
	// true AMD EPYC 7763 280 W 64
	// false
}

// TestCPUMatchSkip checks what skip rests on: a row of ASCII without '('
// holds, lower-cased, the part before any '-' of its first normalised word
// (every row of the table, and made-up ones), so skip never passes over a
// row that matches; and that lookups agree with those that normalise every
// row.
func TestCPUMatchSkip(t *testing.T) {
	made := []string{
		"i7 920", "Core i7 920", "Intel i5 750 CPU", "CPU,i7,920", "AMD Ryzen 7 5800X 8-Core Processor",
		"13th Gen Intel Core i9-13900K", "Dual Core AMD Opteron 285", "Intel Celeron CPU N2840 @ 2.16GHz",
		"Processor 0 Xeon", "APU with Radeon", "Intel", "@ 3GHz", "AMD-EPYC 7763", "Intel Xeon-Gold 6248",
		"amd 3.0GHz EPYC", "Intel\tXeon\r\nGold", "i9 -13900K", "AMD EPYC", "AMD EPYC 7763",
	}
	var rows []string
	require.NoError(t, eachCPURow(cpuTDPCSV, func(name string, _ Watts) bool {
		rows = append(rows, name)
		return true
	}))
	for _, name := range append(rows, made...) {
		m := newCPUMatch(name)
		if len(m.in) == 0 {
			continue
		}
		_, skip := m.skip(nil, name)
		assert.False(t, skip, "%q (%q) skips itself", name, m.in)
	}

	// lookupAll is lookupCPU without skip.
	lookupAll := func(name string) (CPUModel, bool) {
		m := newCPUMatch(name)
		if len(m.in) == 0 {
			return m.result()
		}
		require.NoError(t, eachCPURow(cpuTDPCSV, func(row string, tdp Watts) bool {
			key, _ := appendCPUKey(nil, row)
			return m.offer(key, row, tdp)
		}))
		return m.result()
	}
	names := append(made, "Intel(R) Xeon(R) CPU @ 2.20GHz", "Intel(R) Core(TM) i7 CPU 920 @ 2.67GHz",
		"AMD EPYC 7763 64-Core Processor", "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz")
	for i := 0; i < len(rows); i += 331 {
		names = append(names, rows[i], rows[i]+" Processor", "Intel(R) "+rows[i]+" CPU @ 2.10GHz", rows[i]+"v2",
			rows[i][:len(rows[i])-1], strings.ToUpper(rows[i]))
	}
	for _, name := range names {
		want, wantOK := lookupAll(name)
		got, ok := LookupCPU(name)
		assert.Equal(t, wantOK, ok, name)
		assert.Equal(t, want, got, name)
	}
}

// FuzzCPUMatchSkip checks skip's premise on any name: a row never skips
// itself.
func FuzzCPUMatchSkip(f *testing.F) {
	for _, s := range []string{"i7 920", "Intel Core i7 920", "AMD FX-8350", "a-b c", "x,i5,7", "-1 2", "Intel 13th Gen Core"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if m := newCPUMatch(name); len(m.in) > 0 {
			_, skip := m.skip(nil, name)
			assert.False(t, skip, "%q (%q) skips itself", name, m.in)
		}
	})
}

// BenchmarkLookupCPU measures one lookup, which parses the embedded table.
func BenchmarkLookupCPU(b *testing.B) {
	for _, name := range []string{
		"AMD EPYC 7763 64-Core Processor", // found about a sixth of the way in
		"Intel(R) Xeon(R) CPU @ 2.20GHz",  // unknown: reads the whole table
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				LookupCPU(name)
			}
		})
	}
}

// plainCPUTable reports whether every line of data is empty, a '#'
// comment or a plain record (see plainCPURecord).
func plainCPUTable(data string) bool {
	for line := range strings.Lines(data) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || line[0] == '#' {
			continue
		}
		if _, _, ok := plainCPURecord(line); !ok {
			return false
		}
	}
	return true
}
