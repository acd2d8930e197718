package main

import (
	"testing"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// The benchmark's numbers are written to files, never asserted; these
// tests cover only the arithmetic and text helpers.

func TestPercentileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 20; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 10 * time.Millisecond}, {95, 19 * time.Millisecond}, {100, 20 * time.Millisecond}, {1, time.Millisecond}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
}

func TestSummarizeCountsErrors(t *testing.T) {
	s := summarize([]time.Duration{time.Millisecond, 3 * time.Millisecond}, 1, 5*time.Millisecond)
	if s.N != 3 || s.Errors != 1 || s.MeanMS != 2 || s.MaxMS != 3 || s.WallMS != 5 {
		t.Errorf("summarize = %+v", s)
	}
}

func TestCallsBetween(t *testing.T) {
	t0 := time.Now()
	before := emulator.CallReport{Counts: map[string]int{"CreateUser": 2, "ListAccessKeys": 1}}
	after := emulator.CallReport{
		Counts: map[string]int{"CreateUser": 3, "ListAccessKeys": 3, "DeleteUser": 1},
		Log: []emulator.Call{
			{Action: "old", Start: t0.Add(-time.Second), End: t0.Add(time.Second)},
			{Action: "a", Start: t0, End: t0.Add(2 * time.Millisecond)},
			{Action: "b", Start: t0.Add(time.Millisecond), End: t0.Add(3 * time.Millisecond)},
		},
	}
	c := callsBetween(before, after, t0)
	if c.Total != 4 || c.List != 2 || c.Counts["CreateUser"] != 1 || c.PeakInFlight != 2 {
		t.Errorf("callsBetween = %+v", c)
	}
}

func TestErrTextAndShortLease(t *testing.T) {
	out := "Error revoking lease: Error making API request.\n\nURL: PUT http://x\nCode: 400. Errors:\n\n* failed to revoke entry: boom\n"
	if got := errText(out); got != "failed to revoke entry: boom" {
		t.Errorf("errText = %q", got)
	}
	if got := errText("\nplain\nmore"); got != "plain" {
		t.Errorf("errText = %q", got)
	}
	if got := shortLease("multicloud/creds/aws/bench/abc"); got != "multicloud/creds/aws/bench/<lease-id>" {
		t.Errorf("shortLease = %q", got)
	}
	if got := shortLease("-sync"); got != "-sync" {
		t.Errorf("shortLease = %q", got)
	}
	m := &masker{}
	m.add("s3cr3t", "")
	if got := m.mask("key s3cr3t"); got != "key ****" {
		t.Errorf("mask = %q", got)
	}
}
