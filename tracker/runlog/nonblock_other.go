//go:build !unix

package runlog

// oNonblock is not needed where there are no FIFOs to open (readFile checks
// the mode before opening).
const oNonblock = 0
