package ncloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
)

// The common answers to an unknown credential type and unreadable lease
// or intent data: a FieldError on credential_type where a request names
// the type; ErrUnrecoverable for revoke (an error wrapping it for renew)
// of what no retry can read; nil (dropped, logged) for a rollback intent
// that can never be acted on.
func TestUnknownTypeAndUnreadableData(t *testing.T) {
	ctx := context.Background()
	ts := ncloudtest.Start(t, ncloudtest.Options{})
	ak, sk := ts.RootCredentials()
	p := openAt(t, ts, ak, sk, nil)
	isField := func(err error) {
		t.Helper()
		var fe *providers.FieldError
		require.True(t, errors.As(err, &fe), "%v", err)
		require.Equal(t, "credential_type", fe.Field)
	}
	isField(p.ValidateRole(ctx, providers.ValidateRoleRequest{Role: "r", CredentialType: "bogus"}))
	_, err := p.Prepare(ctx, &providers.CreateRequest{CredentialType: "bogus"})
	isField(err)
	_, err = p.Create(ctx, &providers.CreateRequest{CredentialType: "bogus"})
	isField(err)

	_, err = p.Revoke(ctx, &providers.RevokeRequest{CredentialType: "bogus", Internal: json.RawMessage(`{}`)})
	require.ErrorIs(t, err, providers.ErrUnrecoverable)
	_, err = p.Renew(ctx, &providers.RenewRequest{CredentialType: "bogus", Internal: json.RawMessage(`{}`)})
	require.ErrorIs(t, err, providers.ErrUnrecoverable)
	for _, typ := range []string{ncloud.CredentialSTS, ncloud.CredentialSubAccount} {
		_, err = p.Revoke(ctx, &providers.RevokeRequest{CredentialType: typ, Internal: json.RawMessage(`not json`)})
		require.ErrorIs(t, err, providers.ErrUnrecoverable, typ)
	}
	_, err = p.Renew(ctx, &providers.RenewRequest{CredentialType: ncloud.CredentialSTS, Internal: json.RawMessage(`{]`)})
	require.ErrorIs(t, err, providers.ErrUnrecoverable)

	before := ts.Core().Calls().Total
	for _, intent := range []string{`not json`, `{}`, `{"login_id":""}`} {
		require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: json.RawMessage(intent)}), intent)
	}
	require.Equal(t, before, ts.Core().Calls().Total, "nothing asked of Ncloud")
}
