package power_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/sampler"
)

func TestNewDeclaredRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    power.DeclaredPower
		src  string
		want string
	}{
		{"unknown kind", power.DeclaredPower{Kind: "npu", Power: 10}, "", `kind "npu": want gpu, cpu or dram`},
		{"zero watts", power.DeclaredPower{Kind: power.KindGPU}, "", "gpu power 0 W: want a positive"},
		{"negative watts", power.DeclaredPower{Kind: power.KindGPU, Power: -5}, "", "gpu power -5 W"},
		{"NaN watts", power.DeclaredPower{Kind: power.KindCPU, Power: power.Watts(math.NaN())}, "", "cpu power NaN W"},
		{"infinite watts", power.DeclaredPower{Kind: power.KindCPU, Power: power.Watts(math.Inf(1))}, "", "cpu power +Inf W"},
		{"absurd watts", power.DeclaredPower{Kind: power.KindGPU, Power: 1e308}, "", "gpu power 1e+308 W: want a positive number of watts, at most 1e+06"},
		{"utilisation above 1", power.DeclaredPower{Kind: power.KindGPU, Power: 10, Utilization: 1.5}, "", "gpu utilisation 1.5: want a fraction in (0, 1]"},
		{"negative utilisation", power.DeclaredPower{Kind: power.KindGPU, Power: 10, Utilization: -0.1}, "", "gpu utilisation -0.1"},
		{"name with a dot", power.DeclaredPower{Kind: power.KindGPU, Power: 10}, "gpu.0", `name "gpu.0" contains a '.'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := power.NewDeclared(tc.d, tc.src)
			require.Error(t, err)
			assert.ErrorIs(t, err, power.ErrNotSupported)
			assert.Contains(t, err.Error(), "power: declared: "+tc.want)
		})
	}
}

func TestDeclaredInfoAndRead(t *testing.T) {
	d, err := power.NewDeclared(power.DeclaredPower{Kind: power.KindGPU, Device: "Apple M2 GPU", Power: 15, Utilization: 0.8}, "")
	require.NoError(t, err)
	i := d.Info()
	assert.Equal(t, power.Info{Name: "gpu:declared", Kind: power.KindGPU, Device: "Apple M2 GPU", Index: -1,
		Method: power.MethodDeclared, Detail: "declared 15 W × utilisation 0.8 = 12 W, not measured",
		Cadence: power.CadenceRare}, i)
	r := power.Reading{Energy: 3, Reset: true, Samples: make([]power.PowerSample, 2, 4)}
	require.NoError(t, d.Read(context.Background(), &r))
	assert.Equal(t, power.Watts(12), r.Power)
	assert.True(t, r.Average)
	assert.False(t, r.Reset)
	assert.Zero(t, r.Energy)
	assert.Empty(t, r.Samples)
	assert.Equal(t, 4, cap(r.Samples), "the caller's buffer is reused")

	full, err := power.NewDeclared(power.DeclaredPower{Kind: power.KindCPU, Power: 65}, "cpu:mine")
	require.NoError(t, err)
	assert.Equal(t, "declared cpu", full.Info().Device)
	assert.Equal(t, "declared 65 W, not measured", full.Info().Detail)
	assert.Equal(t, power.Watts(65), power.DeclaredPower{Power: 65}.Watts(), "zero utilisation means 1")
}

func TestNewDeclaredSourcesNames(t *testing.T) {
	srcs, err := power.NewDeclaredSources(
		power.DeclaredPower{Kind: power.KindGPU, Power: 300},
		power.DeclaredPower{Kind: power.KindCPU, Power: 65},
		power.DeclaredPower{Kind: power.KindGPU, Power: 300},
	)
	require.NoError(t, err)
	var names []string
	for _, s := range srcs {
		names = append(names, s.Info().Name)
	}
	assert.Equal(t, []string{"gpu:declared-0", "cpu:declared", "gpu:declared-1"}, names)

	_, err = power.NewDeclaredSources(power.DeclaredPower{Kind: power.KindGPU, Power: 300}, power.DeclaredPower{Kind: power.KindGPU})
	assert.ErrorIs(t, err, power.ErrNotSupported)
}

// A declared device's energy is its power × utilisation × the time, with no
// sampling error, however rarely it is read.
func TestDeclaredEnergyIsExact(t *testing.T) {
	for _, interval := range []time.Duration{100 * time.Millisecond, 7 * time.Second, time.Minute} {
		t.Run(interval.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, err := power.NewDeclared(power.DeclaredPower{Kind: power.KindGPU, Power: 300, Utilization: 0.8}, "")
				require.NoError(t, err)
				s, err := sampler.New([]power.Source{d}, sampler.WithInterval(interval))
				require.NoError(t, err)
				require.NoError(t, s.Start(t.Context()))
				time.Sleep(95*time.Second + 250*time.Millisecond)
				s.Stop()
				snap := s.Snapshot()
				secs := snap.Time.Sub(snap.Start).Seconds()
				require.InDelta(t, 95.25, secs, 1e-9)
				assert.InDelta(t, 240*secs, float64(snap.Sources[0].Energy), 1e-6)
				assert.InDelta(t, 240, float64(snap.Sources[0].AvgPower), 1e-9)
			})
		})
	}
}

func sourceNames(srcs []power.Source) []string {
	var out []string
	for _, s := range srcs {
		out = append(out, s.Info().Name)
	}
	return out
}

func TestMergeDeclared(t *testing.T) {
	start := time.Now()
	gpu0 := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start)
	cpuEst := powertest.Constant("cpu:estimate", power.KindCPU, power.MethodEstimated, 50, start)
	dram := powertest.Constant("dram:package-0", power.KindDRAM, power.MethodCounter, 5, start)
	dramEst := powertest.Constant("dram:estimate", power.KindDRAM, power.MethodEstimated, 5, start)
	decl, err := power.NewDeclaredSources(
		power.DeclaredPower{Kind: power.KindCPU, Device: "Apple M2", Power: 20},
		power.DeclaredPower{Kind: power.KindGPU, Device: "Apple M2 GPU", Power: 15},
	)
	require.NoError(t, err)
	cpuDecl, gpuDecl := decl[0], decl[1]

	t.Run("replaces estimates, keeps measured", func(t *testing.T) {
		merged, dropped, warnings := power.MergeDeclared([]power.Source{gpu0, cpuEst, dram}, decl...)
		assert.Equal(t, []string{"gpu:0", "gpu:declared", "cpu:declared", "dram:package-0"}, sourceNames(merged))
		assert.Equal(t, []string{"cpu:estimate"}, sourceNames(dropped))
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], "gpu is measured (gpu:0, counter) and a gpu is declared too: both are counted")
	})
	t.Run("kind order when the kind is missing", func(t *testing.T) {
		merged, dropped, warnings := power.MergeDeclared([]power.Source{cpuEst, dramEst}, gpuDecl)
		assert.Equal(t, []string{"gpu:declared", "cpu:estimate", "dram:estimate"}, sourceNames(merged))
		assert.Empty(t, dropped)
		assert.Empty(t, warnings)
		merged, _, _ = power.MergeDeclared([]power.Source{gpu0, dramEst}, cpuDecl, nil)
		assert.Equal(t, []string{"gpu:0", "cpu:declared", "dram:estimate"}, sourceNames(merged))
	})
	t.Run("nothing else", func(t *testing.T) {
		merged, dropped, warnings := power.MergeDeclared(nil, decl...)
		assert.Equal(t, []string{"gpu:declared", "cpu:declared"}, sourceNames(merged))
		assert.Empty(t, dropped)
		assert.Empty(t, warnings)
	})
	t.Run("Discovery.Declare", func(t *testing.T) {
		d := &power.Discovery{Sources: []power.Source{gpu0, cpuEst, dramEst}}
		warnings := d.Declare(cpuDecl)
		assert.Empty(t, warnings)
		assert.Equal(t, []string{"gpu:0", "cpu:declared", "dram:estimate"}, sourceNames(d.Sources))
		require.NoError(t, d.Close())
	})
}
