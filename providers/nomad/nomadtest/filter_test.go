package nomadtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFilterExpressions(t *testing.T) {
	tok := &aclToken{AccessorID: "ab12", Name: "vault-ops-1", Type: "client", Policies: []string{"p1", "p2"}, Global: true}
	tests := []struct {
		expr string
		want bool
	}{
		{`Name == "vault-ops-1"`, true},
		{`Name == vault-ops-1`, true},
		{"Name == `vault-ops-1`", true},
		{`Name != "vault-ops-1"`, false},
		{`Name matches "^vault-.*-[0-9]+$"`, true},
		{`Name not matches "^x"`, true},
		{`Name contains "ops"`, true},
		{`Name not contains "ops"`, false},
		{`"ops" in Name`, true},
		{`"p2" in Policies`, true},
		{`"p3" not in Policies`, true},
		{`Policies contains "p1"`, true},
		{`Policies is empty`, false},
		{`Policies is not empty`, true},
		{`Global == true`, true},
		{`Global != true`, false},
		{`Type == "client" and (Name == "x" or AccessorID == "ab12")`, true},
		{`not Type == "client"`, false},
		{`Name == "a\"b"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := parseFilter(tc.expr)
			require.NoError(t, err)
			got, err := f.eval(tok)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	bad := []string{`Name ==`, `Name = "x"`, `Name "x"`, `(Name == "x"`, `Name == "x" junk`, `Name matches "("`, `"x" == Name`, `Name == "unterminated`, ``}
	for _, expr := range bad {
		t.Run("bad "+expr, func(t *testing.T) {
			_, err := parseFilter(expr)
			require.Error(t, err)
			require.Regexp(t, `^1:\d+ \(\d+\): `, err.Error())
		})
	}

	evalErr := []string{`SecretID == "x"`, `Policies == "p1"`, `Global == maybe`}
	for _, expr := range evalErr {
		t.Run("eval "+expr, func(t *testing.T) {
			f, err := parseFilter(expr)
			require.NoError(t, err)
			_, err = f.eval(tok)
			require.Error(t, err)
		})
	}
}
