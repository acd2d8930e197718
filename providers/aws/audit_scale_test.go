package aws_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// TestAuditScale measures audit/aws on an account of 5,000 marked users
// (1,000 of them live leases issued through the plugin, 4,000 orphans
// made behind its back) and 1,000 other users (500 of another mount, 500
// unmarked), under an account-wide limit of 50 requests/s and 50 ms of
// latency per call (the benchmark's emulator settings), with
// GetAccountAuthorizationDetails and, when it is denied, with ListUsers +
// ListUserTags. It takes minutes, so it runs only with
// MULTICLOUD_AUDIT_SCALE=1 (page size: MULTICLOUD_AUDIT_PAGE_SIZE, default
// 1000; MULTICLOUD_AUDIT_FALLBACK=0 skips the slow fallback).
func TestAuditScale(t *testing.T) {
	if os.Getenv("MULTICLOUD_AUDIT_SCALE") != "1" {
		t.Skip("set MULTICLOUD_AUDIT_SCALE=1 to measure audit at 5,000 marked users (minutes)")
	}
	const (
		leases, orphans, otherMount, unmarked = 1000, 4000, 500, 500
		rps, latencyMS                        = 50, 50
	)
	pageSize := 1000
	if v := os.Getenv("MULTICLOUD_AUDIT_PAGE_SIZE"); v != "" {
		var err error
		pageSize, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	s := awstest.New(awstest.Options{PageSize: pageSize})
	var denyGAAD atomic.Bool
	var denied atomic.Int64
	deny := aws.DenyActions(s, &denied, "GetAccountAuthorizationDetails")
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if denyGAAD.Load() {
			deny.ServeHTTP(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	e := newEnvOn(t, &awstest.TestServer{Server: s, URL: hs.URL}, map[string]any{"max_concurrent_iam_calls": 10})
	e.OK(logical.UpdateOperation, "roles/aws/u", map[string]any{"policy_document": allowS3})

	start := time.Now()
	parallel(t, 8, leases, func(int) error {
		resp, err := e.Do(logical.ReadOperation, "creds/aws/u", nil)
		if err == nil && (resp == nil || resp.Secret == nil) {
			err = fmt.Errorf("no lease: %v", resp)
		}
		return err
	})
	mount := e.mountID() // made at the first issue
	parallel(t, 16, orphans+otherMount+unmarked, func(i int) error {
		in := &iam.CreateUserInput{UserName: awsv2.String(fmt.Sprint("vault-x-", i)), Path: awsv2.String(fmt.Sprintf("/p%d/", i%7))}
		var tags map[string]string
		switch {
		case i < orphans:
			tags = mark(mount, "aws")
		case i < orphans+otherMount:
			tags = mark("abcdefgh", "aws")
		default:
			tags = map[string]string{"team": "core"}
		}
		for k, v := range tags {
			in.Tags = append(in.Tags, iamtypes.Tag{Key: awsv2.String(k), Value: awsv2.String(v)})
		}
		_, err := e.admin.CreateUser(ctx, in)
		return err
	})
	users := len(s.UserNames())
	t.Logf("setup: %d users in the account (root included) in %s", users, time.Since(start).Round(time.Millisecond))

	measure := func(name string) {
		s.Core().Reset()
		s.Core().SetFaults(emulator.Faults{RateLimitRPS: rps, LatencyMS: latencyMS})
		start := time.Now()
		audit := e.OK(logical.ReadOperation, "audit/aws", nil)
		took := time.Since(start)
		calls := s.Core().Calls()
		s.Core().SetFaults(emulator.Faults{})
		require.Equal(t, leases+orphans, audit.Data["scanned"])
		require.Equal(t, leases, audit.Data["held"])
		require.Len(t, audit.Data["orphans"], orphans)
		require.Empty(t, audit.Data["ghosts"])
		throttled := 0
		for _, c := range calls.Log {
			if c.Fault == emulator.Throttle.String() {
				throttled++
			}
		}
		t.Logf("%s, page size %d, %d rps, %d ms latency: audit of %d users (%d marked, %d held) took %s; cloud_calls %v; emulator: %d requests (%v), %d throttled, peak in flight %d",
			name, pageSize, rps, latencyMS, users, leases+orphans, leases, took.Round(time.Millisecond), audit.Data["cloud_calls"],
			calls.Total, calls.Counts, throttled, calls.MaxInFlight)
	}
	measure("GetAccountAuthorizationDetails")
	if os.Getenv("MULTICLOUD_AUDIT_FALLBACK") != "0" {
		denyGAAD.Store(true)
		measure("ListUsers + ListUserTags (GetAccountAuthorizationDetails denied)")
	}
}

// parallel runs fn(0..n-1) on workers goroutines and fails t on the first
// error.
func parallel(t *testing.T, workers, n int, fn func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
}
