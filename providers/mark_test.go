package providers_test

import (
	"testing"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

func TestValidMountID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"abcdefgh", true}, {"a2b3c4d7", true}, {"22222222", true},
		{"", false}, {"abcdefg", false}, {"abcdefghi", false},
		{"ABCDEFGH", false}, {"abcdefg1", false}, {"abcdefg8", false}, {"abc-efgh", false},
	} {
		if got := providers.ValidMountID(c.id); got != c.want {
			t.Errorf("ValidMountID(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}
