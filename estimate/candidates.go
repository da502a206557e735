package estimate

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Candidate is one configuration of a model selection: a name for people
// ("7B", "13B in FR") and the job it would run. It is a plain value.
type Candidate struct {
	// Name identifies the candidate; it must not be empty and must differ
	// from the other candidates' names.
	Name string
	// Job is the candidate's run, as Estimate takes it.
	Job Job
}

// CandidateEstimate is one candidate's estimate in a JobComparison. It is a
// plain value.
type CandidateEstimate struct {
	// Name is the candidate's name, without surrounding spaces.
	Name string
	// Job is the candidate's job as given.
	Job Job
	// Result is Estimate(Job).
	Result Result
	// SavingKg is the baseline candidate's Result.TotalKg minus this one's,
	// in kgCO2e: positive when this candidate emits less than the baseline.
	SavingKg float64
	// SavingPercent is SavingKg as a percentage of the baseline's TotalKg
	// (0 when that is 0).
	SavingPercent float64
}

// JobComparison is several candidate jobs estimated side by side. It is a
// plain value.
type JobComparison struct {
	// Baseline is the name of the first candidate given, which savings are
	// measured against.
	Baseline string
	// Candidates holds one estimate per candidate, sorted by
	// Result.TotalKg (embodied emissions included when the job asks for
	// them), lowest first; candidates of equal emissions keep the order
	// given.
	Candidates []CandidateEstimate
}

// CompareJobs estimates each candidate's job and measures each against the
// first: which configuration (model size, hardware, zone, ...) emits least,
// and how much choosing it saves. An empty list, an empty or repeated name,
// or a job Estimate rejects is an error wrapping ErrInvalid that names the
// candidate (a job's own error stays in the chain: ErrUnknownDevice,
// factor.ErrUnknownZone). It is safe for concurrent use.
func CompareJobs(cands []Candidate) (JobComparison, error) {
	if len(cands) == 0 {
		return JobComparison{}, fmt.Errorf("%w: no candidates to compare: give at least one", ErrInvalid)
	}
	var c JobComparison
	seen := make(map[string]bool, len(cands))
	for i, cand := range cands {
		name := strings.TrimSpace(cand.Name)
		switch {
		case name == "":
			return JobComparison{}, fmt.Errorf("%w: candidate %d has no name", ErrInvalid, i+1)
		case seen[name]:
			return JobComparison{}, fmt.Errorf("%w: candidate %q is given twice: names must differ", ErrInvalid, clip(name))
		}
		seen[name] = true
		r, err := Estimate(cand.Job)
		if err != nil {
			return JobComparison{}, candidateError(name, err)
		}
		if i == 0 {
			c.Baseline = name
		}
		c.Candidates = append(c.Candidates, CandidateEstimate{Name: name, Job: cand.Job, Result: r})
	}
	base := c.Candidates[0].Result.TotalKg
	for i := range c.Candidates {
		e := &c.Candidates[i]
		e.SavingKg = base - e.Result.TotalKg
		if base != 0 {
			e.SavingPercent = e.SavingKg / base * 100
		}
	}
	sort.SliceStable(c.Candidates, func(i, j int) bool {
		return c.Candidates[i].Result.TotalKg < c.Candidates[j].Result.TotalKg
	})
	return c, nil
}

// candidateError names the candidate in err and makes it wrap ErrInvalid,
// keeping err in the chain.
func candidateError(name string, err error) error {
	if errors.Is(err, ErrInvalid) {
		msg := strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
		return &candidateErr{msg: fmt.Sprintf("%s: candidate %q: %s", ErrInvalid, clip(name), msg), err: err}
	}
	return fmt.Errorf("%w: candidate %q: %w", ErrInvalid, clip(name), err)
}

// candidateErr is an error whose message is rewritten but whose chain is err's.
type candidateErr struct {
	msg string
	err error
}

func (e *candidateErr) Error() string { return e.msg }
func (e *candidateErr) Unwrap() error { return e.err }
