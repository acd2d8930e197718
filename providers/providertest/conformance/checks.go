package conformance

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// checkInfo: the driver describes itself completely, and the Env covers
// every credential type.
func checkInfo(t *testing.T, s *suite) {
	require.True(t, providers.ValidName(s.info.Name), "driver name %q", s.info.Name)
	require.NotEmpty(t, s.info.Description)
	require.NotEmpty(t, s.info.CredentialTypes)
	covered := map[string]bool{}
	for _, r := range s.env.Roles {
		s.ctype(t, r)
		covered[r.CredentialType] = true
	}
	for _, c := range s.info.CredentialTypes {
		require.NotEmpty(t, c.Description, "credential type %s", c.Name)
		require.NotEmpty(t, c.ResponseFields, "credential type %s declares no response fields", c.Name)
		require.True(t, covered[c.Name], "the Env has no role of credential type %s", c.Name)
		secret := false
		for _, f := range c.ResponseFields {
			secret = secret || f.Secret
		}
		require.True(t, secret, "credential type %s declares no secret response field", c.Name)
	}
}

// checkTarget: an instance names its target, the same every time and for
// every instance on the same config, and another one for another account.
func checkTarget(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	t1, err := p.Target(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, t1.ID, "the target must be identified")
	require.NotEmpty(t, t1.Description)
	t2, err := p.Target(ctx)
	require.NoError(t, err)
	require.Equal(t, t1, t2)
	t3, err := s.open(t, s.env.Config).Target(ctx)
	require.NoError(t, err)
	require.Equal(t, t1.ID, t3.ID, "a second instance on the same config has the same target")
	if s.env.OtherTarget != nil {
		o, err := s.open(t, s.env.OtherTarget).Target(ctx)
		require.NoError(t, err)
		require.NotEqual(t, t1.ID, o.ID, "another account or cluster is another target")
	}
}

// checkValidatePrepare: role validation and Prepare create nothing, and
// an intent names the objects it will make.
func checkValidatePrepare(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	before := s.env.State()
	for _, r := range s.env.Roles {
		c := s.ctype(t, r)
		req := s.request(t, r)
		require.NoError(t, p.ValidateRole(ctx, providers.ValidateRoleRequest{
			Role: r.Name, CredentialType: r.CredentialType, Values: req.RoleValues, TTL: req.TTL, MaxTTL: req.MaxTTL,
		}), "role %s", r.Name)
		intent, err := p.Prepare(ctx, req)
		require.NoError(t, err, "role %s", r.Name)
		if intent != nil {
			require.True(t, json.Valid(intent.Data), "role %s: the intent is JSON", r.Name)
			require.NotEmpty(t, intent.Objects, "role %s: the intent names its objects", r.Name)
		} else {
			require.True(t, c.SelfExpiring, "role %s: only self-expiring credentials may have no intent", r.Name)
		}
	}
	require.Equal(t, before, s.env.State(), "validation and Prepare created nothing")
}

// checkIssueRevoke: a credential is made, works, renews, and its revoke
// removes everything it made; a second revoke is success.
func checkIssueRevoke(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	for _, r := range s.env.Roles {
		c := s.ctype(t, r)
		before := s.env.State()
		cred, err := s.create(ctx, t, p, r)
		require.NoError(t, err, "role %s", r.Name)
		require.NotEmpty(t, cred.resp.Data)
		var internal map[string]any
		require.NoError(t, json.Unmarshal(cred.resp.Internal, &internal), "role %s: internal data is a JSON object", r.Name)
		require.NotEmpty(t, cred.resp.Objects, "role %s: the response names its objects", r.Name)
		if !c.SelfExpiring {
			require.NotEqual(t, before, s.env.State(), "role %s: the credential made something in the cloud", r.Name)
		}
		if s.env.Use != nil {
			s.env.Use(t, r.CredentialType, cred.resp.Data)
		}
		_, err = p.Renew(ctx, &providers.RenewRequest{CredentialType: r.CredentialType, Internal: cred.resp.Internal, Increment: 10 * time.Minute, IssueTime: time.Now()})
		require.NoError(t, err, "role %s: renew", r.Name)
		rr, err := p.Revoke(ctx, &providers.RevokeRequest{CredentialType: r.CredentialType, Internal: cred.resp.Internal})
		require.NoError(t, err, "role %s: revoke", r.Name)
		if c.SelfExpiring {
			require.NotEmpty(t, rr.Warnings, "role %s: a no-op revoke says so", r.Name)
		} else {
			require.Equal(t, before, s.env.State(), "role %s: revoke removed everything the create made", r.Name)
		}
		require.NoError(t, revoke(ctx, p, cred), "role %s: a second revoke is success", r.Name)
		require.Equal(t, before, s.env.State())
	}
}

// checkNoSecretStored: no value of a secret (or undeclared) response field
// appears in what the plugin stores: internal data, intent, object names.
// Checked by value, not by key name.
func checkNoSecretStored(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	for _, r := range s.env.Roles {
		c := s.ctype(t, r)
		declared := map[string]providers.Field{}
		for _, f := range c.ResponseFields {
			declared[f.Name] = f
		}
		cred, err := s.create(ctx, t, p, r)
		require.NoError(t, err, "role %s", r.Name)
		stored := []string{string(cred.resp.Internal), mustJSON(t, cred.resp.Objects)}
		if cred.intent != nil {
			stored = append(stored, string(cred.intent.Data), mustJSON(t, cred.intent.Objects))
		}
		secrets := 0
		for key, v := range cred.resp.Data {
			f, ok := declared[key]
			require.True(t, ok, "role %s: response field %q is not declared in ResponseFields", r.Name, key)
			str, isStr := v.(string)
			if !f.Secret || !isStr {
				continue
			}
			require.GreaterOrEqual(t, len(str), 8, "role %s: secret %q is too short to be a real secret", r.Name, key)
			secrets++
			for _, st := range stored {
				require.NotContains(t, st, str, "role %s: the value of secret field %q is stored", r.Name, key)
			}
		}
		require.Positive(t, secrets, "role %s: the credential carries a secret", r.Name)
		require.NoError(t, revoke(ctx, p, cred))
	}
}

// checkRollbackComplete: a create whose answer was lost (the plugin died
// before the lease was made) is undone by Rollback from its intent alone;
// a second Rollback finds nothing and succeeds.
func checkRollbackComplete(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	for _, r := range s.env.Roles {
		before := s.env.State()
		cred, err := s.create(ctx, t, p, r)
		require.NoError(t, err, "role %s", r.Name)
		if cred.intent == nil {
			require.NoError(t, revoke(ctx, p, cred))
			continue
		}
		require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: cred.intent.Data}), "role %s", r.Name)
		require.Equal(t, before, s.env.State(), "role %s: rollback removed everything", r.Name)
		require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: cred.intent.Data}), "role %s: rollback again", r.Name)
		require.Equal(t, before, s.env.State())
	}
}

// checkRollbackEachStep: a create stopped at each of its mutating steps,
// whose own clean-up failed too, is undone by Rollback from its intent.
func checkRollbackEachStep(t *testing.T, s *suite) {
	if s.env.Faults == nil {
		t.Skip("needs an emulator's fault injection")
	}
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	for _, r := range s.env.Roles {
		c := s.ctype(t, r)
		if c.SelfExpiring {
			continue
		}
		actions := s.env.CreateActions[r.CredentialType]
		require.NotEmpty(t, actions, "Env.CreateActions[%s]", r.CredentialType)
		require.NotEmpty(t, s.env.DeleteActions, "Env.DeleteActions")
		for _, action := range actions {
			before := s.env.State()
			fail := map[string]int{action: 1 << 20}
			for _, d := range s.env.DeleteActions {
				fail[d] = 1 << 20
			}
			s.env.Faults.SetFaults(emulator.Faults{FailActions: fail})
			cred, err := s.create(ctx, t, p, r)
			s.env.Faults.SetFaults(emulator.Faults{})
			require.Error(t, err, "role %s: a create whose %s fails must fail", r.Name, action)
			require.NotNil(t, cred, "role %s: Prepare succeeded", r.Name)
			require.NotNil(t, cred.intent)
			require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: cred.intent.Data}), "role %s: rollback after %s failed", r.Name, action)
			require.Equal(t, before, s.env.State(), "role %s: rollback after %s failed left something", r.Name, action)
		}
	}
}

// unreadable are internal data and intents no driver can act on.
var unreadable = []string{`not json`, `{}`, `null`, `[]`, `{"version":"x"}`}

// checkUnreadableInternal: a revoke of unreadable internal data is
// ErrUnrecoverable (no retry can help), and so is a renew's error.
func checkUnreadableInternal(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	before := s.env.State()
	for _, c := range s.info.CredentialTypes {
		for _, raw := range unreadable {
			_, err := p.Revoke(ctx, &providers.RevokeRequest{CredentialType: c.Name, Internal: json.RawMessage(raw)})
			require.ErrorIs(t, err, providers.ErrUnrecoverable, "revoke of %s internal data %s", c.Name, raw)
			_, err = p.Renew(ctx, &providers.RenewRequest{CredentialType: c.Name, Internal: json.RawMessage(raw), IssueTime: time.Now()})
			require.ErrorIs(t, err, providers.ErrUnrecoverable, "renew of %s internal data %s", c.Name, raw)
		}
	}
	require.Equal(t, before, s.env.State())
}

// checkUnreadableIntent: a rollback of an unreadable intent touches
// nothing and succeeds (the WAL entry can never be acted on).
func checkUnreadableIntent(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	before := s.env.State()
	for _, raw := range unreadable {
		require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: json.RawMessage(raw)}), "intent %s", raw)
	}
	require.Equal(t, before, s.env.State())
}

// checkUnknownType: a credential type the driver does not have is bad
// input before anything is made, and unrecoverable in a lease.
func checkUnknownType(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	before := s.env.State()
	const bogus = "no-such-type"
	requireFieldError := func(err error, what string) {
		t.Helper()
		var fe *providers.FieldError
		require.ErrorAs(t, err, &fe, what)
		require.Equal(t, "credential_type", fe.Field, what)
	}
	requireFieldError(p.ValidateRole(ctx, providers.ValidateRoleRequest{Role: "r", CredentialType: bogus, Values: providers.Values{}}), "ValidateRole")
	req := s.request(t, s.env.Roles[0])
	req.CredentialType = bogus
	_, err := p.Prepare(ctx, req)
	requireFieldError(err, "Prepare")
	_, err = p.Create(ctx, req)
	requireFieldError(err, "Create")
	_, err = p.Revoke(ctx, &providers.RevokeRequest{CredentialType: bogus, Internal: json.RawMessage(`{}`)})
	require.ErrorIs(t, err, providers.ErrUnrecoverable, "Revoke")
	_, err = p.Renew(ctx, &providers.RenewRequest{CredentialType: bogus, Internal: json.RawMessage(`{}`), IssueTime: time.Now()})
	require.ErrorIs(t, err, providers.ErrUnrecoverable, "Renew")
	require.Equal(t, before, s.env.State())
}

// checkConcurrentRevokes: revokes of many credentials, each several times
// at once (Vault's revocation workers), all succeed and leave nothing.
func checkConcurrentRevokes(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	for _, r := range s.env.Roles {
		before := s.env.State()
		var creds []*issued
		for range 4 {
			cred, err := s.create(ctx, t, p, r)
			require.NoError(t, err, "role %s", r.Name)
			creds = append(creds, cred)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 3*len(creds))
		for _, cred := range creds {
			for range 3 {
				wg.Go(func() { errs <- revoke(ctx, p, cred) })
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "role %s: concurrent revoke", r.Name)
		}
		require.Equal(t, before, s.env.State(), "role %s", r.Name)
	}
}

// checkCloseWhileRunning: Close while creates run neither panics nor hangs;
// whatever the creates made, a new instance revokes or rolls back.
func checkCloseWhileRunning(t *testing.T, s *suite) {
	ctx := context.Background()
	r := s.env.Roles[0]
	before := s.env.State()
	p, err := s.h.Driver.Open(ctx, providers.OpenRequest{Instance: "conformance", Config: withDefaults(s.info.ConfigFields, s.env.Config)})
	require.NoError(t, err)
	const n = 6
	type result struct {
		cred *issued
		err  error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			cred, err := s.create(ctx, t, p, r)
			results <- result{cred, err}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, p.Close())
	q := s.open(t, s.env.Config)
	deadline := time.After(2 * time.Minute)
	for range n {
		select {
		case res := <-results:
			switch {
			case res.err == nil:
				require.NoError(t, revoke(ctx, q, res.cred))
			case res.cred != nil && res.cred.intent != nil:
				require.NoError(t, q.Rollback(ctx, &providers.RollbackRequest{Intent: res.cred.intent.Data}))
			}
		case <-deadline:
			t.Fatal("creates did not return after Close")
		}
	}
	if c := s.ctype(t, r); !c.SelfExpiring {
		require.Equal(t, before, s.env.State())
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	buf, err := json.Marshal(v)
	require.NoError(t, err)
	return string(buf)
}

// checkAudit: a driver that can list what it made (providers.Auditor)
// lists a live credential's objects under the request's mark and not under
// another mount's, stops listing them once revoked, and removes a
// credential whose answer was lost, leaving nothing.
func checkAudit(t *testing.T, s *suite) {
	ctx := context.Background()
	p := s.open(t, s.env.Config)
	auditor, ok := p.(providers.Auditor)
	if !ok {
		t.Skip("the driver does not implement providers.Auditor")
	}
	listed := func(mark providers.Mark, refs []providers.ObjectRef) bool {
		t.Helper()
		inv, err := auditor.Inventory(ctx, mark)
		require.NoError(t, err, "Inventory")
		require.NotEmpty(t, inv.Kinds, "the inventory says which kinds it covers")
		for _, o := range inv.Objects {
			for _, r := range refs {
				if o.Kind == r.Kind && (o.Name == r.Name || (r.ID != "" && o.ID == r.ID)) {
					return true
				}
			}
		}
		return false
	}
	other := providers.Mark{Mount: "zzzzzzzz", Instance: confMark.Instance}
	for _, r := range s.env.Roles {
		if s.ctype(t, r).SelfExpiring {
			continue
		}
		before := s.env.State()
		cred, err := s.create(ctx, t, p, r)
		require.NoError(t, err, "role %s", r.Name)
		require.True(t, listed(confMark, cred.resp.Objects), "role %s: a live credential is listed under its mark", r.Name)
		require.False(t, listed(other, cred.resp.Objects), "role %s: another mount does not see it", r.Name)
		require.NoError(t, revoke(ctx, p, cred))
		require.False(t, listed(confMark, cred.resp.Objects), "role %s: a revoked credential is no longer listed", r.Name)

		lost, err := s.create(ctx, t, p, r)
		require.NoError(t, err, "role %s", r.Name)
		inv, err := auditor.Inventory(ctx, confMark)
		require.NoError(t, err)
		removed := 0
		for _, o := range inv.Objects {
			for _, ref := range lost.resp.Objects {
				if o.Kind == ref.Kind && (o.Name == ref.Name || (ref.ID != "" && o.ID == ref.ID)) {
					require.NoError(t, auditor.Remove(ctx, confMark, o), "role %s: Remove", r.Name)
					require.NoError(t, auditor.Remove(ctx, confMark, o), "role %s: Remove again", r.Name)
					removed++
				}
			}
		}
		require.Positive(t, removed, "role %s: the lost credential was listed", r.Name)
		require.Equal(t, before, s.env.State(), "role %s: Remove left nothing", r.Name)
	}
}
