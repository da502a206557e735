package runlog

// SetMaxFileSize sets the largest file Read reads, and returns a function
// that restores it.
func SetMaxFileSize(n int64) func() {
	old := maxFileSize
	maxFileSize = n
	return func() { maxFileSize = old }
}
