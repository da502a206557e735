package tracker

// What a run measured: the machine's devices, or a process tree's share of
// them (Report.Scope, and "scope" in the JSON lines' final record).
const (
	// ScopeMachine is every device of the machine that the tracker counts.
	ScopeMachine = "machine"
	// ScopeProcess is the share of the devices that a process tree used
	// (WithProcess).
	ScopeProcess = "process"
)

// WithRunLabel names the run for people: reports, plots and the JSON lines'
// final record ("label") show it. "carbontrack run" gives the command line.
// It names, nothing more: the run's identity stays WithRunID's.
func WithRunLabel(label string) Option { return func(o *options) { o.label = label } }

// scopeOf says what a tracker with these options measures.
func scopeOf(o *options) string {
	if o.pid > 0 {
		return ScopeProcess
	}
	return ScopeMachine
}
