package providers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

func TestWithOperation(t *testing.T) {
	ctx := context.Background()
	_, ok := providers.OperationFrom(ctx)
	require.False(t, ok, "a bare context carries no operation")

	issue := providers.WithOperation(ctx, providers.OpIssue)
	op1, ok := providers.OperationFrom(issue)
	require.True(t, ok)
	require.Equal(t, providers.OpIssue, op1.Kind)
	require.False(t, op1.Start.IsZero())

	// A revoke inside the issue (the undo of a failed create) stays part
	// of the issue.
	nested := providers.WithOperation(issue, providers.OpRevoke)
	op2, _ := providers.OperationFrom(nested)
	require.Equal(t, op1, op2)

	later := providers.WithOperation(ctx, providers.OpRevoke)
	op3, _ := providers.OperationFrom(later)
	require.Equal(t, providers.OpRevoke, op3.Kind)
	require.Greater(t, op3.Seq, op1.Seq, "sequence numbers increase")
	require.False(t, op3.Start.Before(op1.Start))
}
