package nomadtest

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"
)

func TestPolicies(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())

	valid := []*api.ACLPolicy{
		{Name: "readonly", Description: "read", Rules: `namespace "default" { policy = "read" }`},
		{Name: "empty-rules"},
		{Name: "json-rules", Rules: `{"node": {"policy": "write"}}`},
	}
	for _, p := range valid {
		_, err := root.ACLPolicies().Upsert(p, nil)
		require.NoError(t, err, p.Name)
	}
	got, qm, err := root.ACLPolicies().Info("readonly", nil)
	require.NoError(t, err)
	require.Equal(t, valid[0].Rules, got.Rules)
	require.Equal(t, "read", got.Description)
	require.Equal(t, got.ModifyIndex, qm.LastIndex)

	// Upsert keeps CreateIndex and bumps ModifyIndex.
	_, err = root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "readonly", Rules: valid[0].Rules, Description: "v2"}, nil)
	require.NoError(t, err)
	again, _, err := root.ACLPolicies().Info("readonly", nil)
	require.NoError(t, err)
	require.Equal(t, got.CreateIndex, again.CreateIndex)
	require.Greater(t, again.ModifyIndex, got.ModifyIndex)

	list, _, err := root.ACLPolicies().List(&api.QueryOptions{Prefix: "e"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "empty-rules", list[0].Name)

	invalid := []struct {
		name string
		in   api.ACLPolicy
		body string
	}{
		{"bad name", api.ACLPolicy{Name: "bad_name"}, "policy 0 invalid: 1 error occurred:\n\t* invalid name 'bad_name'\n\n"},
		{"long name", api.ACLPolicy{Name: strings.Repeat("a", 129)}, "policy 0 invalid: 1 error occurred:\n\t* invalid name '" + strings.Repeat("a", 129) + "'\n\n"},
		{"long description", api.ACLPolicy{Name: "d", Description: strings.Repeat("d", 257)}, "policy 0 invalid: 1 error occurred:\n\t* description longer than 256\n\n"},
		{"empty policy", api.ACLPolicy{Name: "e", Rules: `foo = "bar"`}, "policy 0 invalid: 1 error occurred:\n\t* failed to parse rules: Invalid policy: foo = \"bar\"\n\n"},
		{"job acl", api.ACLPolicy{Name: "j", JobACL: &api.JobACL{JobID: "x"}}, "policy 0 invalid: 1 error occurred:\n\t* namespace must be set to set job ID\n\n"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, err := root.ACLPolicies().Upsert(&in, nil)
			requireAPIError(t, err, 400, tc.body)
		})
	}
	t.Run("unparsable rules", func(t *testing.T) {
		_, err := root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "u", Rules: `namespace "x" {`}, nil)
		require.Error(t, err)
		require.Contains(t, err.Error(), "failed to parse rules: Failed to parse ACL Policy: ")
	})

	_, err = root.ACLPolicies().Delete("json-rules", nil)
	require.NoError(t, err)
	_, err = root.ACLPolicies().Delete("json-rules", nil)
	require.NoError(t, err, "deleting a missing policy is not an error")
	_, _, err = root.ACLPolicies().Info("json-rules", nil)
	requireAPIError(t, err, 404, "ACL policy not found")
	require.Equal(t, 2, ts.State()["policies"])
}

func TestRoles(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	_, err := root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "p1", Rules: `node { policy = "read" }`}, nil)
	require.NoError(t, err)

	role, wm, err := root.ACLRoles().Create(&api.ACLRole{Name: "ops", Description: "d", Policies: []*api.ACLRolePolicyLink{{Name: "p1"}}}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, role.ID)
	require.Equal(t, wm.LastIndex, role.CreateIndex)

	byName, _, err := root.ACLRoles().GetByName("ops", nil)
	require.NoError(t, err)
	require.Equal(t, role, byName)
	byID, _, err := root.ACLRoles().Get(role.ID, nil)
	require.NoError(t, err)
	require.Equal(t, role, byID)
	list, _, err := root.ACLRoles().List(&api.QueryOptions{Prefix: role.ID[:4]})
	require.NoError(t, err)
	require.Len(t, list, 1)

	invalid := []struct {
		name string
		in   api.ACLRole
		body string
	}{
		{"no policies", api.ACLRole{Name: "x"}, "role 0 invalid: 1 error occurred:\n\t* at least one policy should be specified\n\n"},
		{"bad name", api.ACLRole{Name: "a b", Policies: []*api.ACLRolePolicyLink{{Name: "p1"}}}, "role 0 invalid: 1 error occurred:\n\t* invalid name 'a b'\n\n"},
		{"unknown policy", api.ACLRole{Name: "x", Policies: []*api.ACLRolePolicyLink{{Name: "ghost"}}}, "cannot find policy ghost"},
		{"duplicate name", api.ACLRole{Name: "ops", Policies: []*api.ACLRolePolicyLink{{Name: "p1"}}}, "role with name ops already exists"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, _, err := root.ACLRoles().Create(&in, nil)
			requireAPIError(t, err, 400, tc.body)
		})
	}
	_, _, err = root.ACLRoles().Update(&api.ACLRole{ID: "missing", Name: "x", Policies: []*api.ACLRolePolicyLink{{Name: "p1"}}}, nil)
	requireAPIError(t, err, 400, "cannot find role missing")

	// A token follows a renamed role and drops a deleted one.
	tok, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "client", Roles: []*api.ACLTokenRoleLink{{Name: "ops"}}}, nil)
	require.NoError(t, err)
	renamed, _, err := root.ACLRoles().Update(&api.ACLRole{ID: role.ID, Name: "ops2", Policies: role.Policies}, nil)
	require.NoError(t, err)
	require.Equal(t, role.CreateIndex, renamed.CreateIndex)
	read, _, err := root.ACLTokens().Info(tok.AccessorID, nil)
	require.NoError(t, err)
	require.Equal(t, []*api.ACLTokenRoleLink{{ID: role.ID, Name: "ops2"}}, read.Roles)

	_, err = root.ACLRoles().Delete(role.ID, nil)
	require.NoError(t, err)
	_, err = root.ACLRoles().Delete(role.ID, nil)
	requireAPIError(t, err, 500, "ACL role not found")
	_, _, err = root.ACLRoles().Get(role.ID, nil)
	requireAPIError(t, err, 404, "ACL role not found")
	read, _, err = root.ACLTokens().Info(tok.AccessorID, nil)
	require.NoError(t, err)
	require.Empty(t, read.Roles)
	snap, ok := ts.Token(tok.AccessorID)
	require.True(t, ok)
	require.Empty(t, snap.Roles)
	require.Equal(t, 0, ts.State()["roles"])
}
