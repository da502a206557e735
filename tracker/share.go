package tracker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker/internal/lease"
)

// LeaseDirEnv sets the directory of the device leases (see WithLeaseDir);
// "off" turns them off.
const LeaseDirEnv = lease.EnvDir

// leaseOff is the WithLeaseDir value, and the LeaseDirEnv value, that turns
// the leases off.
const leaseOff = "off"

// Elsewhere is a device this tracker did not count because another tracker
// on the machine measures it. It is a plain value.
type Elsewhere struct {
	// Source is the device.
	Source power.Info
	// By says who measures it, for people: "pid 4242 (run r7, rank 1)", or
	// "local rank 1" for a GPU left to the process of another local rank.
	By string
}

// Identity says which run, machine and rank a tracker belongs to; every
// record of its logs carries it, so that the logs of every rank and node of
// a job add up once. It is a plain value.
type Identity struct {
	// RunID names the run, the same on every node and rank: WithRunID, else
	// CARBONTRACK_RUN_ID, SLURM_JOB_ID or TORCHELASTIC_RUN_ID.
	RunID string
	// Node names the machine: WithNode, else CARBONTRACK_NODE, else the
	// host name.
	Node string
	// Rank and LocalRank are this process's global rank and its rank on
	// the machine (WithRank, else the launcher's environment: RANK and
	// LOCAL_RANK of torchrun, SLURM_PROCID and SLURM_LOCALID,
	// OMPI_COMM_WORLD_RANK and OMPI_COMM_WORLD_LOCAL_RANK); -1 when unknown.
	Rank, LocalRank int
	// LocalSize is the number of ranks on the machine (LOCAL_WORLD_SIZE,
	// OMPI_COMM_WORLD_LOCAL_SIZE, an srun step's SLURM_STEP_TASKS_PER_NODE);
	// -1 when unknown. A rank keeps only its own GPU when there are several
	// ranks: a local rank alone (a batch script's SLURM_LOCALID=0) does not
	// say so.
	LocalSize int
}

// envInt returns the first of names set to an integer, or -1.
func envInt(names ...string) int {
	for _, n := range names {
		if v, err := strconv.Atoi(strings.TrimSpace(os.Getenv(n))); err == nil && v >= 0 {
			return v
		}
	}
	return -1
}

func envString(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// identity completes the options' identity from the environment.
func (o *options) identity() Identity {
	id := Identity{RunID: o.runID, Node: o.node, Rank: o.rank, LocalRank: o.localRank, LocalSize: -1}
	if id.RunID == "" {
		id.RunID = envString("CARBONTRACK_RUN_ID", "SLURM_JOB_ID", "TORCHELASTIC_RUN_ID")
	}
	if id.Node == "" {
		id.Node = envString("CARBONTRACK_NODE")
		if id.Node == "" {
			id.Node, _ = os.Hostname()
		}
	}
	if !o.rankSet {
		id.Rank = envInt("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
		id.LocalRank = envInt("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
		id.LocalSize = envInt("LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE")
		if id.LocalSize < 0 {
			// Set by srun in each task of a step ("4", "4(x2)", "4,2"), not
			// in a batch script, whose SLURM_LOCALID is 0 whatever follows.
			id.LocalSize = slurmTasksHere(os.Getenv("SLURM_STEP_TASKS_PER_NODE"), envInt("SLURM_NODEID"))
		}
	}
	return id
}

// slurmTasksHere returns the tasks on node nodeID (the step's node index)
// of a SLURM per-node list ("4", "4(x2)", "4,2", "2(x3),1"), or -1 when it
// cannot tell (a list that differs by node and no node index).
func slurmTasksHere(list string, nodeID int) int {
	var counts []int
	for _, part := range strings.Split(strings.TrimSpace(list), ",") {
		n, rep := part, 1
		if i := strings.Index(part, "(x"); i > 0 && strings.HasSuffix(part, ")") {
			r, err := strconv.Atoi(part[i+2 : len(part)-1])
			if err != nil || r < 1 || r > 1<<16 {
				return -1
			}
			n, rep = part[:i], r
		}
		v, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || v < 0 {
			return -1
		}
		for range rep {
			counts = append(counts, v)
		}
	}
	switch {
	case len(counts) == 0:
		return -1
	case nodeID >= 0 && nodeID < len(counts):
		return counts[nodeID]
	}
	for _, c := range counts[1:] {
		if c != counts[0] {
			return -1
		}
	}
	return counts[0]
}

// shareKey is the lease of a device: a GPU by its UUID, the CPU and the
// DRAM once per machine whatever measures them (RAPL packages or the
// estimate: two trackers that measure them differently must not both count
// them).
func shareKey(in power.Info) string {
	switch in.Kind {
	case power.KindGPU:
		if in.UUID != "" {
			return "gpu-" + in.UUID
		}
		return "gpu-" + in.Name
	case power.KindCPU, power.KindDRAM:
		// The machine's own: a lease directory on a file system shared by
		// several machines must not let one node's tracker hold another's.
		return string(in.Kind) + "-" + machineID()
	}
	return string(in.Kind) + "-" + in.Name
}

// share keeps the sources this tracker counts, in machine mode: with a local
// rank and several GPUs, the GPU of that rank only (the others are the other
// ranks'), unless the rank is alone on the machine; then, with leases, the
// devices no other tracker on the machine holds. It records the rest in
// t.elsewhere and, when the leases cannot be used, why in t.shareNote.
func (t *Tracker) share(sources []power.Source, useLeases bool) []power.Source {
	id := t.id
	var gpus []int
	for i, s := range sources {
		if s.Info().Kind == power.KindGPU {
			gpus = append(gpus, i)
		}
	}
	drop := make([]bool, len(sources))
	// A rank keeps its own GPU when it is one of several on the machine:
	// as the launcher says (LOCAL_WORLD_SIZE, an srun step), or as WithRank
	// does.
	// The other ranks' GPUs are theirs only when every rank sees the same
	// list: with CUDA_VISIBLE_DEVICES set (often per rank) the leases
	// alone decide. GPUs beyond the number of ranks are leased too.
	_, perRank := os.LookupEnv("CUDA_VISIBLE_DEVICES")
	if id.LocalRank >= 0 && len(gpus) > 1 && !perRank && (id.LocalSize > 1 || (t.opts.rankSet && id.LocalSize != 1)) {
		for j, i := range gpus {
			if j != id.LocalRank && (id.LocalSize < 0 || j < id.LocalSize) {
				drop[i] = true
				t.elsewhere = append(t.elsewhere, Elsewhere{Source: sources[i].Info(), By: fmt.Sprintf("local rank %d", j)})
			}
		}
		if id.LocalRank >= len(gpus) {
			t.shareNote = fmt.Sprintf("local rank %d has no GPU of its own among the %d visible", id.LocalRank, len(gpus))
		}
	}
	if useLeases {
		dir := t.opts.leaseDir
		if dir == "" {
			dir = lease.DefaultDir()
		}
		set, err := lease.Open(dir, lease.Holder{Run: id.RunID, Node: id.Node, Rank: id.Rank})
		if err != nil {
			t.shareNote = fmt.Sprintf("%v: if several trackers run on this machine, its devices may be counted more than once", err)
			t.logger.Warn("tracker: " + t.shareNote)
		} else {
			t.leases = set
			for i, s := range sources {
				if drop[i] {
					continue
				}
				in := s.Info()
				ok, holder, err := set.TryAcquire(shareKey(in))
				switch {
				case err != nil:
					// Counted here, as no lease says otherwise; said, as
					// another tracker may count it too.
					t.shareNote = fmt.Sprintf("the lease of %s could not be taken (%v): it may be counted twice", in.Name, err)
					t.logger.Warn("tracker: " + t.shareNote)
				case !ok:
					drop[i] = true
					t.elsewhere = append(t.elsewhere, Elsewhere{Source: in, By: holder.String()})
				}
			}
		}
	}
	keep := sources[:0:0]
	for i, s := range sources {
		if !drop[i] {
			keep = append(keep, s)
		}
	}
	for _, e := range t.elsewhere {
		t.logger.Info("tracker: not counted here", "source", e.Source.Name, "measured_by", e.By)
	}
	return keep
}

// leasesWanted says whether the tracker coordinates with the other trackers
// of the machine: in machine mode, for the devices it discovers, or for
// those of WithSources when WithLeaseDir was given; never when the
// directory is "off".
func (o *options) leasesWanted() bool {
	dir := o.leaseDir
	if dir == "" {
		dir = os.Getenv(LeaseDirEnv)
	}
	switch {
	case o.pid > 0, strings.EqualFold(strings.TrimSpace(dir), leaseOff):
		return false
	case o.sourcesSet:
		return o.leaseSet
	}
	return true
}

// sharingLine says which devices other trackers count and why devices may
// be counted twice; "" when neither applies.
func (t *Tracker) sharingLine() string {
	var parts []string
	if len(t.elsewhere) > 0 {
		var es []string
		for _, e := range t.elsewhere {
			es = append(es, e.Source.Name+" (measured by "+e.By+")")
		}
		parts = append(parts, "Not counted here, counted by another tracker on this machine: "+strings.Join(es, ", ")+".")
	}
	if t.shareNote != "" {
		parts = append(parts, "Warning: "+t.shareNote+".")
	}
	return strings.Join(parts, " ")
}

// Identity returns the run, machine and rank this tracker belongs to.
func (t *Tracker) Identity() Identity { return t.id }

// machineID names this boot of this machine: the kernel's boot id, else
// the host name.
var machineID = sync.OnceValue(func() string {
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id
		}
	}
	h, _ := os.Hostname()
	return h
})
