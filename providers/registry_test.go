package providers_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

func TestRegistry(t *testing.T) {
	cloud := providertest.NewCloud()
	cases := []struct {
		name    string
		drivers []providers.Driver
		wantErr string
		names   []string
	}{
		{"two drivers", []providers.Driver{providertest.New("b", cloud), providertest.New("a", cloud)}, "", []string{"a", "b"}},
		{"duplicate", []providers.Driver{providertest.New("a", cloud), providertest.New("a", cloud)}, "registered twice", nil},
		{"invalid name", []providers.Driver{providertest.New("Bad_Name", cloud)}, "must match", nil},
		{"empty", nil, "", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := providers.NewRegistry(tc.drivers...)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.names, r.Names())
			for _, n := range tc.names {
				d, ok := r.Driver(n)
				require.True(t, ok)
				require.Equal(t, n, d.Info().Name)
			}
			_, ok := r.Driver("nope")
			require.False(t, ok)
		})
	}
	require.Panics(t, func() { providers.MustRegistry(providertest.New("a", cloud), providertest.New("a", cloud)) })
}

func TestValues(t *testing.T) {
	v := providers.Values{"s": "x", "i": 3, "b": true, "l": []string{"a"}, "m": map[string]string{"k": "v"}}
	require.Equal(t, "x", v.String("s"))
	require.Equal(t, 3, v.Int("i"))
	require.True(t, v.Bool("b"))
	require.Equal(t, []string{"a"}, v.Strings("l"))
	require.Equal(t, map[string]string{"k": "v"}, v.Map("m"))
	require.Zero(t, v.Duration("s"), "a value of the wrong type reads as zero")
	require.True(t, v.Has("s"))
	require.False(t, v.Has("nope"))
}

func TestErrors(t *testing.T) {
	fe := providers.InvalidField("ttl", "must be at least %d s", 600)
	require.EqualError(t, fe, "ttl: must be at least 600 s")
	ce := &providers.CloudError{Op: "AttachUserPolicy", Code: "LimitExceeded", StatusCode: 409, Message: "too many"}
	require.EqualError(t, ce, "AttachUserPolicy: LimitExceeded: too many")
}
