package runlog

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestRunLabels(t *testing.T) {
	long := "python train.py --config configs/experiments/a/very/long/path/resnet50_0.yaml --epochs 3 --lr 0.1"
	for _, tc := range []struct {
		name string
		runs []Run
		want []string
	}{
		{"label, else run id, else file name", []Run{
			{Name: "1.2_x", Label: "python train.py", RunID: "job-1", Rank: -1},
			{Name: "3.4_y", RunID: "job-2", Rank: -1},
			{Name: "5.6_z", Rank: -1},
			{Rank: -1},
		}, []string{"python train.py", "job-2", "5.6_z", "run 4"}},
		{"the nodes and ranks of one job", []Run{
			{Name: "a", RunID: "job-42", Node: "n1", Rank: 0},
			{Name: "b", RunID: "job-42", Node: "n2", Rank: 1},
			{Name: "c", RunID: "job-43", Node: "n2", Rank: 0},
		}, []string{"job-42 n1 rank 0", "job-42 n2 rank 1", "job-43"}},
		{"the same command twice", []Run{
			{Name: "a", Label: "make train", Rank: -1}, {Name: "b", Label: "make train", Rank: -1},
		}, []string{"make train", "make train #2"}},
		{"a process tree's share", []Run{
			{Name: "a", Label: "make train", Rank: -1, Scope: "process"}, {Name: "b", Label: "make eval", Rank: -1, Scope: "machine"},
		}, []string{"make train (process share)", "make eval"}},
		{"white space", []Run{{Label: "  python\n\ttrain.py  ", Rank: -1}}, []string{"python train.py"}},
		{"a long command, cut in the middle", []Run{{Label: long, Rank: -1}},
			[]string{"python train.py --config con…ochs 3 --lr 0.1"}},
		{"long commands that differ where they would be cut", []Run{
			{Label: long, Rank: -1}, {Label: strings.Replace(long, "resnet50_0", "resnet50_3", 1), Rank: -1},
		}, []string{"python …h/resnet50_0.yaml --epochs 3 --lr 0…", "python …h/resnet50_3.yaml --epochs 3 --lr 0…"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RunLabels(tc.runs)
			assert.Equal(t, tc.want, got)
			for _, l := range got {
				assert.LessOrEqual(t, utf8.RuneCountInString(strings.TrimSuffix(l, ProcessShare)), maxLabel, l)
			}
		})
	}
}
