package providers

import (
	"fmt"
	"sort"
	"time"
)

// FieldType is the type of a config, role or request field.
type FieldType int

const (
	// TypeString is a string.
	TypeString FieldType = iota + 1
	// TypeInt is an int.
	TypeInt
	// TypeBool is a bool.
	TypeBool
	// TypeDuration is a time.Duration, given as seconds or a Go/Vault
	// duration string ("15m").
	TypeDuration
	// TypeStringList is a []string, given as a list or a comma-separated
	// string.
	TypeStringList
	// TypeKVPairs is a map[string]string, given as a map or as a list of
	// "key=value" strings.
	TypeKVPairs
)

// String names the type as the API documentation shows it.
func (t FieldType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeBool:
		return "bool"
	case TypeDuration:
		return "duration"
	case TypeStringList:
		return "list of strings"
	case TypeKVPairs:
		return "map of strings"
	}
	return fmt.Sprintf("FieldType(%d)", int(t))
}

// Field describes one config, role or request field.
type Field struct {
	// Name is the field's API name (snake_case).
	Name string
	// Type is the field's type.
	Type FieldType
	// Description is the help text.
	Description string
	// Default is used when the field was never set (nil: the type's zero).
	Default any
	// Secret marks a config field that is never returned on read.
	Secret bool
	// Required makes the field mandatory on create.
	Required bool
	// AllowedValues restricts a string field.
	AllowedValues []string
}

// CredentialType is one kind of credential a driver issues.
type CredentialType struct {
	// Name is the value of the role's credential_type.
	Name string
	// Description is the help text.
	Description string
	// RoleFields are the role fields this type takes.
	RoleFields []Field
	// RequestFields are the creds request parameters this type takes.
	RequestFields []Field
	// ResponseFields are the fields of an issued credential's data. The
	// plugin checks that no value of a field marked Secret (nor of a field
	// not declared here) appears in the lease's internal data, its WAL
	// intent or its object names.
	ResponseFields []Field
	// SelfExpiring marks credentials that cannot be revoked early (STS
	// keys): Revoke is a no-op that warns. The plugin does not bind them
	// to a target and they never block a config change or delete.
	SelfExpiring bool
}

// DriverInfo describes a driver.
type DriverInfo struct {
	// Name is the driver's registered name, also the default instance name.
	Name string
	// Description is a one-line summary.
	Description string
	// ConfigFields are the fields of config/<instance>.
	ConfigFields []Field
	// CredentialTypes are the kinds of credential; the first is the
	// default credential_type of a new role.
	CredentialTypes []CredentialType
}

// CredentialType returns the named credential type.
func (d DriverInfo) CredentialType(name string) (CredentialType, bool) {
	for _, c := range d.CredentialTypes {
		if c.Name == name {
			return c, true
		}
	}
	return CredentialType{}, false
}

// CredentialTypeNames lists the credential type names in order.
func (d DriverInfo) CredentialTypeNames() []string {
	out := make([]string, 0, len(d.CredentialTypes))
	for _, c := range d.CredentialTypes {
		out = append(out, c.Name)
	}
	return out
}

// RoleFieldNames returns the sorted union of all credential types' role
// field names.
func (d DriverInfo) RoleFieldNames() []string {
	seen := map[string]bool{}
	for _, c := range d.CredentialTypes {
		for _, f := range c.RoleFields {
			seen[f.Name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Values are typed field values: string, int, bool, time.Duration,
// []string or map[string]string, as the field's FieldType says.
type Values map[string]any

// String returns a string value ("" if unset).
func (v Values) String(name string) string {
	s, _ := v[name].(string)
	return s
}

// Int returns an int value (0 if unset).
func (v Values) Int(name string) int {
	i, _ := v[name].(int)
	return i
}

// Bool returns a bool value (false if unset).
func (v Values) Bool(name string) bool {
	b, _ := v[name].(bool)
	return b
}

// Duration returns a duration value (0 if unset).
func (v Values) Duration(name string) time.Duration {
	d, _ := v[name].(time.Duration)
	return d
}

// Strings returns a list value (nil if unset).
func (v Values) Strings(name string) []string {
	s, _ := v[name].([]string)
	return s
}

// Map returns a map value (nil if unset).
func (v Values) Map(name string) map[string]string {
	m, _ := v[name].(map[string]string)
	return m
}

// Has reports whether a value is set.
func (v Values) Has(name string) bool {
	_, ok := v[name]
	return ok
}

// Upgrader is implemented by a Driver whose stored config or role values
// can be in a form an older version wrote (e.g. a name template in a former
// syntax). The plugin upgrades values when it reads them, so config and role
// reads show, and writes store, the current form.
type Upgrader interface {
	// UpgradeConfig returns config values in the current form; values
	// already current are returned unchanged. It must not fail on a value
	// it cannot convert: it leaves it for Open to refuse.
	UpgradeConfig(v Values) Values
	// UpgradeRole does the same for the role values of a credential type.
	UpgradeRole(credentialType string, v Values) Values
}
