package plugin

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// frameworkType maps a driver field type to Vault's.
func frameworkType(t providers.FieldType) framework.FieldType {
	switch t {
	case providers.TypeInt:
		return framework.TypeInt
	case providers.TypeBool:
		return framework.TypeBool
	case providers.TypeDuration:
		return framework.TypeDurationSecond
	case providers.TypeStringList:
		return framework.TypeCommaStringSlice
	case providers.TypeKVPairs:
		return framework.TypeKVPairs
	default:
		return framework.TypeString
	}
}

// schemaFor converts driver fields to a framework schema.
func schemaFor(fields []providers.Field) map[string]*framework.FieldSchema {
	out := make(map[string]*framework.FieldSchema, len(fields))
	for _, f := range fields {
		out[f.Name] = &framework.FieldSchema{
			Type:          frameworkType(f.Type),
			Description:   f.Description,
			AllowedValues: anySlice(f.AllowedValues),
			DisplayAttrs:  &framework.DisplayAttributes{Sensitive: f.Secret},
		}
	}
	return out
}

func anySlice(s []string) []any {
	if len(s) == 0 {
		return nil
	}
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// parseFields types the given raw values by fields. Only keys present in
// raw are returned. A value that does not convert is a *FieldError naming
// the field.
func parseFields(fields []providers.Field, raw map[string]any) (providers.Values, error) {
	fd := &framework.FieldData{Raw: raw, Schema: schemaFor(fields)}
	out := providers.Values{}
	for _, f := range fields {
		if _, ok := raw[f.Name]; !ok {
			continue
		}
		v, ok, err := fd.GetOkErr(f.Name)
		if err != nil {
			return nil, providers.InvalidField(f.Name, "must be a %s: %v", f.Type, err)
		}
		if !ok {
			continue
		}
		tv, err := typed(f, v)
		if err != nil {
			return nil, err
		}
		out[f.Name] = tv
	}
	return out, nil
}

// typed converts a framework value into the driver's canonical type and
// checks AllowedValues.
func typed(f providers.Field, v any) (any, error) {
	switch f.Type {
	case providers.TypeDuration:
		secs, _ := v.(int)
		if secs < 0 {
			return nil, providers.InvalidField(f.Name, "must not be negative")
		}
		return time.Duration(secs) * time.Second, nil
	case providers.TypeStringList:
		list, _ := v.([]string)
		clean := make([]string, 0, len(list))
		for _, s := range list {
			if s = strings.TrimSpace(s); s != "" {
				clean = append(clean, s)
			}
		}
		return clean, nil
	case providers.TypeString:
		s, _ := v.(string)
		if len(f.AllowedValues) > 0 && s != "" && !slices.Contains(f.AllowedValues, s) {
			return nil, providers.InvalidField(f.Name, "must be one of %s, got %q", strings.Join(f.AllowedValues, ", "), s)
		}
		return s, nil
	}
	return v, nil
}

// withDefaults returns values with every unset field's default filled in.
func withDefaults(fields []providers.Field, values providers.Values) providers.Values {
	out := providers.Values{}
	for _, f := range fields {
		if v, ok := values[f.Name]; ok {
			out[f.Name] = v
		} else if f.Default != nil {
			out[f.Name] = f.Default
		}
	}
	return out
}

// encodeValues turns typed values into a JSON-safe map for storage.
func encodeValues(values providers.Values) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		if d, ok := v.(time.Duration); ok {
			out[k] = int64(d / time.Second)
			continue
		}
		out[k] = v
	}
	return out
}

// decodeValues types stored values by fields and fills in defaults.
func decodeValues(fields []providers.Field, stored map[string]any) (providers.Values, error) {
	v, err := parseFields(fields, stored)
	if err != nil {
		return nil, err
	}
	return withDefaults(fields, v), nil
}

// unknownFields returns the sorted keys of raw that are neither in allowed
// nor in fields.
func unknownFields(raw map[string]any, fields []providers.Field, allowed ...string) []string {
	known := map[string]bool{}
	for _, a := range allowed {
		known[a] = true
	}
	for _, f := range fields {
		known[f.Name] = true
	}
	var out []string
	for k := range raw {
		if !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// unknownFieldError builds the 400 message for unknown fields, naming the
// valid ones.
func unknownFieldError(unknown []string, fields []providers.Field, allowed ...string) error {
	valid := append([]string(nil), allowed...)
	for _, f := range fields {
		valid = append(valid, f.Name)
	}
	sort.Strings(valid)
	valid = slices.Compact(valid)
	noun := "field"
	if len(unknown) > 1 {
		noun = "fields"
	}
	return fmt.Errorf("unknown %s %s; valid fields are: %s", noun, strings.Join(unknown, ", "), strings.Join(valid, ", "))
}

// withoutPathKeys returns raw without the given keys (the path captures,
// which the framework merges into req.Data).
func withoutPathKeys(raw map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// upgradeConfig returns stored config values in the driver's current form.
func upgradeConfig(d providers.Driver, v providers.Values) providers.Values {
	if u, ok := d.(providers.Upgrader); ok && v != nil {
		return u.UpgradeConfig(v)
	}
	return v
}

// upgradeRole returns stored role values in the driver's current form.
func upgradeRole(d providers.Driver, ctype string, v providers.Values) providers.Values {
	if u, ok := d.(providers.Upgrader); ok && v != nil {
		return u.UpgradeRole(ctype, v)
	}
	return v
}
