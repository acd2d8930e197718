package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Defaults of audit and tidy.
const (
	// defaultAbandonAfter: an index entry whose lease expired, or whose
	// revoke failed, this long ago without Vault revoking it since,
	// belongs to a lease Vault no longer holds or gave up on. Vault
	// retries a failed revoke for about ten minutes before it marks the
	// lease irrevocable.
	defaultAbandonAfter = 15 * time.Minute
	// defaultTidyMinAge: tidy removes only orphans older than this.
	defaultTidyMinAge = time.Hour
)

// auditReport compares a provider instance's marked cloud objects with
// the index of live credentials and the WAL.
type auditReport struct {
	Instance string
	Mount    string
	Target   providers.Target
	// Scanned is how many marked objects the cloud holds; Held how many
	// of them a live lease or an unfinished create names.
	Scanned, Held int
	// Calls is how many cloud calls the inventory made.
	Calls    int
	Orphans  []orphan
	Ghosts   []ghost
	Duration time.Duration
}

// orphan is a marked object in the cloud that no live lease or unfinished
// create holds.
type orphan struct {
	Object providers.CloudObject
	// Entry is the abandoned index entry that names it, if any.
	Entry  *liveEntry
	Reason string
}

// ghost is an index entry whose objects are gone from the cloud.
type ghost struct {
	Entry  *liveEntry
	Reason string
}

// objectKey identifies a cloud object for matching: by kind and name, and
// by kind and id when there is one.
type objectKey struct{ kind, name string }

func keysOf(o providers.ObjectRef) []objectKey {
	keys := []objectKey{{o.Kind, o.Name}}
	if o.ID != "" {
		keys = append(keys, objectKey{o.Kind, o.ID})
	}
	return keys
}

// abandoned says whether an index entry's lease is gone or given up on,
// and why.
func (e *liveEntry) abandoned(now time.Time, after time.Duration) (bool, string) {
	if e.RevokeFailedAt != 0 && now.Sub(time.Unix(e.RevokeFailedAt, 0)) > after {
		return true, fmt.Sprintf("its revoke failed at %s and Vault has not revoked it since (an irrevocable lease, or one revoked with -force): %s",
			rfc3339(e.RevokeFailedAt), e.RevokeError)
	}
	if e.ExpireTime != 0 && now.Sub(time.Unix(e.ExpireTime, 0)) > after {
		return true, fmt.Sprintf("its lease expired at %s and was never revoked", rfc3339(e.ExpireTime))
	}
	return false, ""
}

// audit builds the report of one instance. The cloud is listed first, then
// the WAL, then the index: a create writes its WAL entry before its first
// object and its index entry before removing the WAL entry, so every
// object the listing saw is named by what is read after it.
func (b *Backend) audit(ctx context.Context, s logical.Storage, name string, abandonAfter time.Duration) (*auditReport, providers.Auditor, error) {
	start := time.Now()
	inst, err := b.provider(ctx, s, name)
	if err != nil {
		return nil, nil, err
	}
	auditor, ok := inst.provider.(providers.Auditor)
	if !ok {
		return nil, nil, fmt.Errorf("driver %q cannot list the objects it made: %w", inst.cfg.Driver, providers.ErrNotSupported)
	}
	mount, err := b.mountID(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	target, err := inst.provider.Target(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("identify the target of provider %q: %w", name, err)
	}
	// The inventory stops tidyMargin before the request's deadline, so
	// that a slow one is answered with what happened (a 504 naming it),
	// not cut off by Vault's request timeout.
	invCtx, cancel := beforeDeadline(ctx, tidyMargin)
	inv, err := auditor.Inventory(invCtx, providers.Mark{Mount: mount, Instance: name})
	expired := errors.Is(invCtx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		if expired && ctx.Err() == nil {
			return nil, nil, fmt.Errorf("list the objects of provider %q: not finished %s before the request's deadline (Vault's request timeout); the driver's docs say what makes its inventory fast (%v): %w",
				name, tidyMargin, err, context.DeadlineExceeded)
		}
		return nil, nil, fmt.Errorf("list the objects of provider %q: %w", name, err)
	}
	wals, err := b.walEntriesFor(ctx, s, name)
	if err != nil {
		return nil, nil, err
	}
	entries, err := allLive(ctx, s, name)
	if err != nil {
		return nil, nil, err
	}

	now := time.Now()
	held := map[objectKey]bool{}
	abandonedBy := map[objectKey]*liveEntry{}
	reasons := map[*liveEntry]string{}
	for _, w := range wals {
		for _, o := range w.Objects {
			for _, k := range keysOf(o) {
				held[k] = true
			}
		}
	}
	for _, e := range entries {
		// An entry made in another target holds nothing of this one.
		if e.Target != "" && target.ID != "" && e.Target != target.ID {
			continue
		}
		gone, why := e.abandoned(now, abandonAfter)
		if gone {
			reasons[e] = why
		}
		for _, o := range e.Objects {
			for _, k := range keysOf(o) {
				if gone {
					abandonedBy[k] = e
				} else {
					held[k] = true
				}
			}
		}
	}

	r := &auditReport{Instance: name, Mount: mount, Target: target, Scanned: len(inv.Objects), Calls: inv.Calls}
	inCloud := map[objectKey]bool{}
	for _, obj := range inv.Objects {
		keys := keysOf(obj.ObjectRef)
		isHeld := false
		var by *liveEntry
		for _, k := range keys {
			inCloud[k] = true
			isHeld = isHeld || held[k]
			if by == nil {
				by = abandonedBy[k]
			}
		}
		switch {
		case isHeld:
			r.Held++
		case by != nil:
			r.Orphans = append(r.Orphans, orphan{Object: obj, Entry: by, Reason: "its lease (credential " + by.ID + " of role " + by.Role + ") is abandoned: " + reasons[by]})
		default:
			r.Orphans = append(r.Orphans, orphan{Object: obj, Reason: "no live lease or unfinished create names it"})
		}
	}

	kinds := map[string]bool{}
	for _, k := range inv.Kinds {
		kinds[k] = true
	}
	for _, e := range entries {
		if e.Target != "" && target.ID != "" && e.Target != target.ID {
			continue
		}
		if e.SelfExpiring {
			if gone, why := e.abandoned(now, abandonAfter); gone {
				r.Ghosts = append(r.Ghosts, ghost{Entry: e, Reason: "a self-expiring credential whose lease is over: " + why})
			}
			continue
		}
		covered, found := 0, 0
		for _, o := range e.Objects {
			if !kinds[o.Kind] {
				continue
			}
			covered++
			for _, k := range keysOf(o) {
				if inCloud[k] {
					found++
					break
				}
			}
		}
		if covered > 0 && found == 0 {
			r.Ghosts = append(r.Ghosts, ghost{Entry: e, Reason: "its objects are gone from the cloud"})
		}
	}
	sort.Slice(r.Orphans, func(i, j int) bool { return r.Orphans[i].Object.Name < r.Orphans[j].Object.Name })
	sort.Slice(r.Ghosts, func(i, j int) bool { return r.Ghosts[i].Entry.ID < r.Ghosts[j].Entry.ID })
	r.Duration = time.Since(start)
	return r, auditor, nil
}

// tidyResult is what a tidy did (or, dry, would do).
type tidyResult struct {
	Removed      []orphan
	Kept         []orphan // younger than min_age, or of unknown age
	Failed       []string
	DroppedIndex []string // index entries removed: ghosts and abandoned entries whose objects are gone
}

// tidyConcurrency is how many orphans tidy removes at once.
const tidyConcurrency = 16

// tidyMargin is the time left before the request's deadline (Vault's
// request timeout, 90 s, also bounds the periodic tidy) under which tidy
// starts no more removals (and under which an unfinished inventory is
// given up), so that the answer says what happened and what is left for
// the next run.
const tidyMargin = 10 * time.Second

// requestBudget, when not zero, replaces the request timeout of the
// settings (tests).
var requestBudget atomic.Int64

// withRequestBudget bounds an audit or tidy request by the mount's
// request_timeout (settings; Vault's max_request_duration, 90 s by
// default), or by ctx's own deadline if that comes first. Vault cancels a
// request after its max_request_duration but hands a plugin a context
// without that deadline: vault/request_handling.go derives the request's
// context from the core's and only cancels it when the HTTP request's
// ends. So the plugin keeps its own clock, and with tidyMargin audit and
// tidy answer before Vault gives up. (The rollback manager's periodic
// calls do carry a 90 s deadline.)
func (b *Backend) withRequestBudget(ctx context.Context, st logical.Storage) (context.Context, context.CancelFunc, error) {
	budget := time.Duration(requestBudget.Load())
	if budget == 0 {
		s, err := loadSettings(ctx, st)
		if err != nil {
			return nil, nil, err
		}
		budget = s.requestTimeout()
	}
	dl := time.Now().Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithDeadline(ctx, dl)
	return ctx, cancel, nil
}

// beforeDeadline returns ctx, ending margin before its deadline if it has
// one.
func beforeDeadline(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-margin))
	}
	return context.WithCancel(ctx)
}

// tidy removes the orphans older than minAge and drops the ghosts (and the
// abandoned entries whose objects it removed) from the index. Dry, it only
// says what it would do.
func (b *Backend) tidy(ctx context.Context, s logical.Storage, r *auditReport, auditor providers.Auditor, minAge time.Duration, dry bool) *tidyResult {
	out := &tidyResult{}
	now := time.Now()
	var todo []orphan
	for _, o := range r.Orphans {
		if o.Object.Created.IsZero() && minAge > 0 || now.Sub(o.Object.Created) < minAge {
			out.Kept = append(out.Kept, o)
			continue
		}
		todo = append(todo, o)
	}
	// Removals run tidyConcurrency at a time (the driver's scheduler
	// still paces them to the account's rate limit): one at a time, a few
	// thousand orphans would outlast Vault's request timeout.
	errs := make([]error, len(todo))
	if !dry {
		mark := providers.Mark{Mount: r.Mount, Instance: r.Instance}
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(tidyConcurrency, len(todo)) {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < len(todo); i = int(next.Add(1)) - 1 {
					if err := ctx.Err(); err != nil {
						errs[i] = fmt.Errorf("not attempted: %w", err)
						continue
					}
					if dl, ok := ctx.Deadline(); ok && time.Until(dl) < tidyMargin {
						errs[i] = errors.New("not attempted: the request's time is almost up; run tidy again")
						continue
					}
					errs[i] = auditor.Remove(ctx, mark, todo[i].Object)
				}
			})
		}
		wg.Wait()
	}
	removedFrom := map[*liveEntry]int{}
	for i, o := range todo {
		if err := errs[i]; err != nil {
			out.Failed = append(out.Failed, fmt.Sprintf("%s %s: %v", o.Object.Kind, o.Object.Name, err))
			continue
		}
		if !dry {
			b.Logger().Info("tidy removed an orphaned cloud object", "provider", r.Instance, "kind", o.Object.Kind, "name", o.Object.Name, "reason", o.Reason)
		}
		out.Removed = append(out.Removed, o)
		if o.Entry != nil {
			removedFrom[o.Entry]++
		}
	}
	drop := func(e *liveEntry) {
		key := liveKey(r.Instance, e.Role, e.ID)
		if !dry {
			if err := deleteLive(ctx, s, r.Instance, e.Role, e.ID); err != nil {
				out.Failed = append(out.Failed, err.Error())
				return
			}
		}
		out.DroppedIndex = append(out.DroppedIndex, key)
	}
	for _, g := range r.Ghosts {
		drop(g.Entry)
	}
	for e := range removedFrom {
		drop(e)
	}
	sort.Strings(out.DroppedIndex)
	return out
}

// minTidyInterval is the shortest periodic tidy interval: the rollback
// manager calls the plugin once a minute.
const minTidyInterval = time.Minute

// tidyStatePrefix records when each instance was last tidied periodically.
const tidyStatePrefix = "tidy-state/"

type tidyState struct {
	Last int64 `json:"last"`
}

func (c *storedConfig) tidyMinAge() time.Duration {
	if c.TidyMinAge == nil {
		return defaultTidyMinAge
	}
	return time.Duration(*c.TidyMinAge) * time.Second
}

// periodicTidy tidies every instance whose tidy_interval has passed since
// its last periodic tidy. Errors are logged and returned together; one
// instance's failure does not stop the others.
func (b *Backend) periodicTidy(ctx context.Context, s logical.Storage) error {
	names, err := s.List(ctx, configPrefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		cfg, err := loadConfig(ctx, s, name)
		if err != nil || cfg == nil || cfg.TidyInterval == 0 {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		var st tidyState
		if _, err := getJSON(ctx, s, tidyStatePrefix+name, &st); err != nil {
			errs = append(errs, err)
			continue
		}
		if time.Since(time.Unix(st.Last, 0)) < time.Duration(cfg.TidyInterval)*time.Second {
			continue
		}
		tctx := providers.WithOperation(ctx, providers.OpAdmin)
		r, auditor, err := b.audit(tctx, s, name, defaultAbandonAfter)
		if err != nil {
			b.Logger().Warn("periodic tidy: audit failed", "provider", name, "error", err)
			errs = append(errs, fmt.Errorf("periodic tidy of %s: %w", name, err))
			continue
		}
		res := b.tidy(tctx, s, r, auditor, cfg.tidyMinAge(), false)
		b.Logger().Info("periodic tidy", "provider", name, "scanned", r.Scanned, "orphans", len(r.Orphans), "removed", len(res.Removed), "dropped_index_entries", len(res.DroppedIndex), "failed", len(res.Failed))
		if err := putJSON(ctx, s, tidyStatePrefix+name, tidyState{Last: time.Now().Unix()}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
