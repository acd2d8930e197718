package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// rollbackConcurrency bounds the WAL entries rolled back at once: a crash
// with many creates in flight leaves many entries, and rolling them back
// one at a time (as the framework's own WAL handler does) would let one
// slow cloud delay every other entry by minutes.
const rollbackConcurrency = 8

// periodic is the backend's PeriodicFunc. Vault's rollback manager calls it
// every minute on the active node (a RollbackOperation); it undoes the
// unfinished creates whose WAL entries are older than the mount's
// wal_rollback_min_age. The plugin does this itself, instead of through
// framework.Backend.WALRollback, so the minimum age is an operator setting
// read at each run, creates still in flight on this node are never rolled
// back, and entries are rolled back concurrently.
func (b *Backend) periodic(ctx context.Context, req *logical.Request) error {
	return errors.Join(b.rollbackWAL(ctx, req), b.periodicTidy(ctx, req.Storage))
}

// rollbackWAL rolls back every old enough WAL entry; a request carrying
// "immediate" (Vault's test helpers, plugintest.Rollback) ignores the age.
// An entry is deleted only once its rollback succeeded; failures keep it
// for the next run and are returned together.
func (b *Backend) rollbackWAL(ctx context.Context, req *logical.Request) error {
	ids, err := framework.ListWAL(ctx, req.Storage)
	if err != nil || len(ids) == 0 {
		return err
	}
	settings, err := loadSettings(ctx, req.Storage)
	if err != nil {
		return err
	}
	_, immediate := req.Data["immediate"]
	cutoff := time.Now().Add(-settings.walRollbackMinAge())

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, rollbackConcurrency)
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for _, id := range ids {
		if b.createInFlight(id) {
			continue
		}
		entry, err := framework.GetWAL(ctx, req.Storage, id)
		if err != nil {
			fail(err)
			continue
		}
		if entry == nil || (!immediate && !time.Unix(entry.CreatedAt, 0).Before(cutoff)) {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := b.walRollback(ctx, req, entry.Kind, entry.Data); err != nil {
				fail(fmt.Errorf("roll back WAL entry %s (%s): %w", id, entry.Kind, err))
				return
			}
			if err := framework.DeleteWAL(ctx, req.Storage, id); err != nil {
				fail(fmt.Errorf("delete rolled-back WAL entry %s: %w", id, err))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// markInFlight records that this node is running the create of a WAL
// entry, until the returned function is called.
func (b *Backend) markInFlight(walID string) (done func()) {
	if walID == "" {
		return func() {}
	}
	b.inflight.Store(walID, struct{}{})
	return func() { b.inflight.Delete(walID) }
}

func (b *Backend) createInFlight(walID string) bool {
	_, ok := b.inflight.Load(walID)
	return ok
}
