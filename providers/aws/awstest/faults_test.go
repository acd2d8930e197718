package awstest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

func postFaults(t *testing.T, ts *awstest.TestServer, f emulator.Faults) {
	t.Helper()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	resp, err := http.Post(ts.Admin+"/faults", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func TestFaults(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	c := rootIAM(ts)
	s := rootSTS(ts)
	getUser := func() error { _, err := c.GetUser(ctx, &iam.GetUserInput{}); return err }
	whoAmI := func() error { _, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }

	tests := []struct {
		name   string
		faults emulator.Faults
		call   func() error
		code   string
		status int
	}{
		{"throttle IAM", emulator.Faults{ThrottleRate: 1}, getUser, "Throttling", 400},
		{"throttle STS", emulator.Faults{ThrottleRate: 1}, whoAmI, "Throttling", 400},
		{"5xx IAM", emulator.Faults{ErrorRate: 1}, getUser, "ServiceFailure", 500},
		{"5xx STS", emulator.Faults{ErrorRate: 1}, whoAmI, "InternalFailure", 500},
		{"fail_actions", emulator.Faults{FailActions: map[string]int{"GetUser": 1}}, getUser, "ServiceFailure", 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			postFaults(t, ts, tc.faults)
			t.Cleanup(func() { ts.Core().SetFaults(emulator.Faults{}) })
			requireAPIError(t, tc.call(), tc.code, tc.status)
		})
	}
	t.Run("drop", func(t *testing.T) {
		ts.Core().SetFaults(emulator.Faults{DropRate: 1})
		t.Cleanup(func() { ts.Core().SetFaults(emulator.Faults{}) })
		err := getUser()
		require.Error(t, err)
		var ae interface{ ErrorCode() string }
		require.NotErrorAs(t, err, &ae, "a dropped connection has no AWS answer")
	})
	t.Run("rate limit", func(t *testing.T) {
		ts.Core().SetFaults(emulator.Faults{RateLimitRPS: 2})
		t.Cleanup(func() { ts.Core().SetFaults(emulator.Faults{}) })
		throttled := 0
		for range 6 {
			if err := getUser(); err != nil {
				requireAPIError(t, err, "Throttling", 400)
				throttled++
			}
		}
		require.GreaterOrEqual(t, throttled, 3)
	})
	t.Run("SDK retries fail_actions through", func(t *testing.T) {
		ak, sk := ts.RootCredentials()
		retrying := iamClient(ts, ak, sk, clientOpts{retries: true})
		ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"CreateUser": 2}})
		t.Cleanup(func() { ts.Core().SetFaults(emulator.Faults{}) })
		n := ts.Core().Count("CreateUser")
		_, err := retrying.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("retried")})
		require.NoError(t, err)
		require.Equal(t, n+3, ts.Core().Count("CreateUser"))
		_, ok := ts.User("retried")
		require.True(t, ok)
	})
}

func TestAdminEndpoints(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	c := rootIAM(ts)

	var state map[string]int
	getJSON(t, ts.Admin+"/state", &state)
	require.Equal(t, 1, state["users"])
	require.Equal(t, 1, state["access_keys"])
	require.Equal(t, 0, state["groups"])
	require.Equal(t, 0, state["roles"])
	require.Positive(t, state["policies"])
	fixtures := maps.Clone(state)

	createUserWithKey(t, c, "frank")
	_, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("ops")})
	require.NoError(t, err)
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustAccount("123456789012"))})
	require.NoError(t, err)
	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(allowS3)})
	require.NoError(t, err)
	getJSON(t, ts.Admin+"/state", &state)
	require.Equal(t, 2, state["users"])
	require.Equal(t, 2, state["access_keys"])
	require.Equal(t, 1, state["groups"])
	require.Equal(t, 1, state["roles"])
	require.Equal(t, fixtures["policies"]+1, state["policies"])
	require.Equal(t, ts.State(), state)

	var calls emulator.CallReport
	getJSON(t, ts.Admin+"/calls", &calls)
	require.Equal(t, 1, calls.Counts["CreateUser"])
	require.Equal(t, 1, calls.Counts["CreateAccessKey"])
	require.Equal(t, 5, calls.Total)

	bad, err := http.Post(ts.Admin+"/faults", "application/json", bytes.NewReader([]byte(`{"throttle_rate":2}`)))
	require.NoError(t, err)
	bad.Body.Close()
	require.Equal(t, http.StatusBadRequest, bad.StatusCode)
	postFaults(t, ts, emulator.Faults{LatencyMS: 1, FailActions: map[string]int{"DeleteUser": 3}})
	var f emulator.Faults
	getJSON(t, ts.Admin+"/faults", &f)
	require.Equal(t, 3, f.FailActions["DeleteUser"])

	resp, err := http.Post(ts.Admin+"/reset", "application/json", nil)
	require.NoError(t, err)
	state = nil
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&state))
	resp.Body.Close()
	require.Equal(t, fixtures, state)
	require.Equal(t, []string{awstest.RootUserName}, ts.UserNames())
	require.Equal(t, emulator.Faults{FailActions: map[string]int{}}, ts.Core().Faults())
	require.Zero(t, ts.Core().Calls().Total)
	_, err = c.GetUser(ctx, &iam.GetUserInput{}) // the root key survives a reset
	require.NoError(t, err)
}

// TestConcurrency drives many SDK calls at once (under -race) and shows
// they overlapped in the server.
func TestConcurrency(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	c := rootIAM(ts)
	ts.Core().SetFaults(emulator.Faults{LatencyMS: 50})
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := aws.String(fmt.Sprint("conc", i))
			if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: name}); err != nil {
				errs <- err
				return
			}
			if _, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: name}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	calls := ts.Core().Calls()
	require.Equal(t, n, calls.Counts["CreateUser"])
	require.GreaterOrEqual(t, calls.MaxOverlap("CreateUser"), 2)
	require.GreaterOrEqual(t, calls.MaxInFlight, 2)
	require.Equal(t, n+1, ts.State()["users"])
	require.Equal(t, n+1, ts.State()["access_keys"])
}
