//go:build unix

package cli

import "syscall"

// execFull replaces this process with carbontrack-full at path, given argv
// (without the program name) and env. It returns only when it cannot.
func execFull(path string, argv, env []string) (int, error) {
	return 0, syscall.Exec(path, append([]string{path}, argv...), env)
}
