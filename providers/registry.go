package providers

import (
	"fmt"
	"regexp"
	"sort"
)

// nameRE is the rule for driver and instance names: they appear in API
// paths and lease ids.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// ValidName reports whether s is a valid driver or instance name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Registry maps driver names to drivers. It is built once by the program
// that assembles the plugin (see cmd/vault-plugin-secrets-multicloud) and
// is read-only afterwards, so it needs no lock.
type Registry struct {
	drivers map[string]Driver
}

// NewRegistry returns a registry of the given drivers. It fails on a
// duplicate or invalid name.
func NewRegistry(drivers ...Driver) (*Registry, error) {
	r := &Registry{drivers: make(map[string]Driver, len(drivers))}
	for _, d := range drivers {
		info := d.Info()
		if !ValidName(info.Name) {
			return nil, fmt.Errorf("driver name %q must match %s", info.Name, nameRE)
		}
		if _, dup := r.drivers[info.Name]; dup {
			return nil, fmt.Errorf("driver %q registered twice", info.Name)
		}
		if len(info.CredentialTypes) == 0 {
			return nil, fmt.Errorf("driver %q has no credential type", info.Name)
		}
		r.drivers[info.Name] = d
	}
	return r, nil
}

// MustRegistry is NewRegistry that panics on error, for main and tests.
func MustRegistry(drivers ...Driver) *Registry {
	r, err := NewRegistry(drivers...)
	if err != nil {
		panic(err)
	}
	return r
}

// Driver returns the named driver.
func (r *Registry) Driver(name string) (Driver, bool) {
	d, ok := r.drivers[name]
	return d, ok
}

// Names returns the sorted driver names.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.drivers))
	for n := range r.drivers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
