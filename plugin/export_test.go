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
