package plugin

import (
	"testing"
	"time"
)

// SetRequestBudget sets how long an audit or tidy request may run, for
// the duration of a test.
func SetRequestBudget(t testing.TB, d time.Duration) {
	old := requestBudget.Swap(int64(d))
	t.Cleanup(func() { requestBudget.Store(old) })
}

// SetReplicationCacheFor sets how long the replication state and the
// mount's local flag are reused, for the duration of a test.
func SetReplicationCacheFor(t testing.TB, d time.Duration) {
	old := replicationCacheFor.Swap(int64(d))
	t.Cleanup(func() { replicationCacheFor.Store(old) })
}
