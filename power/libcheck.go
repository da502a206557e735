package power

import (
	"errors"
	"fmt"
	"strings"
)

// A symbolGroup is one function a library loaded at run time must export,
// under any of its names (its versions, newest first, such as
// "nvmlInit_v2" or "nvmlInit"): the one the bindings call is the first the
// library has.
type symbolGroup []string

// libraryCheck says which symbols a vendor library must export before any of
// its functions is called. The bindings (go-nvml for NVML) call them through
// cgo after dlopen: one that is missing is resolved only when called, and then
// the dynamic linker ends the whole process ("symbol lookup error"), which no
// Go code can recover from. checkLibrary finds that out beforehand with dlsym.
type libraryCheck struct {
	// what names the library in messages ("nvml").
	what string
	// want describes the right library ("NVML, libnvidia-ml.so.1").
	want string
	// hint says what to do about a wrong library.
	hint string
	// symbols are the functions the bindings may call, each one needed.
	symbols []symbolGroup
}

// errLibraryOpen wraps the failure to load a library at all: the bindings
// report that themselves (go-nvml's ERROR_LIBRARY_NOT_FOUND), without
// calling into it.
var errLibraryOpen = errors.New("power: cannot load library")

// missing returns the names of the groups none of whose names lookup finds:
// the first name of each, in order.
func (c libraryCheck) missing(lookup func(name string) bool) []string {
	var out []string
	for _, g := range c.symbols {
		found := false
		for _, name := range g {
			if lookup(name) {
				found = true
				break
			}
		}
		if !found && len(g) > 0 {
			out = append(out, g[0])
		}
	}
	return out
}

// verdict turns the symbols missing from the library at path into an error:
// nil when none is, ErrNotFound when every one is (the file is some other
// library) or when some are (an incomplete or too old library).
func (c libraryCheck) verdict(path string, missing []string) error {
	switch {
	case len(missing) == 0:
		return nil
	case len(missing) == len(c.symbols):
		return errorf(ErrNotFound, "power: %s: %s is not %s: it exports none of its functions (such as %s); %s",
			c.what, path, c.want, missing[0], c.hint)
	default:
		const most = 3
		names := strings.Join(missing[:min(len(missing), most)], ", ")
		if len(missing) > most {
			names += fmt.Sprintf(" and %d more", len(missing)-most)
		}
		return errorf(ErrNotFound, "power: %s: %s is not a complete %s: it lacks %s (a stub, or too old a version); %s",
			c.what, path, c.want, names, c.hint)
	}
}
