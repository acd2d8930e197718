package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// cpuResult is the CPU case: what a Nomad token issue costs in CPU on each
// side, in bursts like those of the concurrent phases. The Nomad call is
// the same one for both engines, so the difference is the engine's own
// work: Vault's for the builtin engine; Vault's and the plugin process's
// for this plugin (the request and its answer cross gRPC, and each
// storage write is a gRPC call back into Vault).
type cpuResult struct {
	// Bursts of Burst issues at once per engine, the engines taking turns;
	// each burst's leases are revoked outside the measurement.
	Bursts int       `json:"bursts"`
	Burst  int       `json:"burst"`
	Sides  []cpuSide `json:"engines"`
}

// cpuSide is one engine's CPU per issue.
type cpuSide struct {
	Engine string `json:"engine"`
	Issued int    `json:"issued"`
	Errors int    `json:"errors"`
	// VaultMS and PluginMS are the CPU time (user + system) of the Vault
	// process and of the plugin process per issued credential, in
	// milliseconds (from /proc/<pid>/stat, 10 ms ticks summed over every
	// burst).
	VaultMS  float64 `json:"vault_ms_per_issue"`
	PluginMS float64 `json:"plugin_ms_per_issue"`
	// BurstMS is the median wall time of a burst.
	BurstMS float64 `json:"burst_ms_median"`
}

// cpuCase runs the CPU case on the Nomad engines.
func (b *bench) cpuCase(ctx context.Context, bursts, burst int) (*cpuResult, error) {
	res := &cpuResult{Bursts: bursts, Burst: burst}
	type acc struct {
		vault, plugin time.Duration
		issued, errs  int
		walls         []time.Duration
	}
	accs := make([]acc, len(nomadEngines))
	for range bursts {
		for i, e := range nomadEngines {
			v0, p0, err := b.s.srv.CPU(pluginName)
			if err != nil {
				return nil, err
			}
			var mu sync.Mutex
			var leases []string
			_, errs, wall := batch(ctx, burst, true, func(ctx context.Context, _ int) error {
				lease, _, err := b.issue(ctx, e)
				if err == nil {
					mu.Lock()
					leases = append(leases, lease)
					mu.Unlock()
				}
				return err
			})
			v1, p1, err := b.s.srv.CPU(pluginName)
			if err != nil {
				return nil, err
			}
			a := &accs[i]
			a.vault += v1 - v0
			a.plugin += p1 - p0
			a.walls = append(a.walls, wall)
			for _, err := range errs {
				if err != nil {
					a.errs++
				}
			}
			a.issued += len(leases)
			_, rerrs, _ := batch(ctx, len(leases), true, func(ctx context.Context, j int) error { return b.revoke(ctx, leases[j]) })
			if n, msgs := countErrors(rerrs, b.s.masker); n > 0 {
				return nil, fmt.Errorf("cpu case: %d revokes of %s failed: %v", n, e.Creds, msgs)
			}
		}
	}
	for i, e := range nomadEngines {
		a := accs[i]
		side := cpuSide{Engine: e.Name, Issued: a.issued, Errors: a.errs, BurstMS: ms(medianDuration(a.walls))}
		if a.issued > 0 {
			side.VaultMS = round2(float64(a.vault) / float64(time.Millisecond) / float64(a.issued))
			side.PluginMS = round2(float64(a.plugin) / float64(time.Millisecond) / float64(a.issued))
		}
		res.Sides = append(res.Sides, side)
	}
	return res, nil
}

// medianDuration is the median of ds (0 if empty).
func medianDuration(ds []time.Duration) time.Duration {
	vs := make([]float64, len(ds))
	for i, d := range ds {
		vs[i] = float64(d)
	}
	if len(vs) == 0 {
		return 0
	}
	return time.Duration(median(vs))
}
