package ncloud

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// kindSubAccount is the kind of object Inventory covers: a sub account
// owns its access keys, which a cascading delete removes with it.
const kindSubAccount = "sub_account"

const (
	// inventoryWalks bounds the walks of the sub account list: pages are
	// offsets into a list that deletes shift (a sub account deleted
	// before the page being read moves the next one onto a page already
	// read), so the list is walked until two walks agree on the marked
	// sub accounts, three times at most, and their union is read.
	inventoryWalks = 3
	// inventoryParallel bounds the concurrent reads of sub accounts.
	inventoryParallel = 4
)

var _ providers.Auditor = (*provider)(nil)

// Inventory implements providers.Auditor: the sub accounts whose loginId
// carries the mount's prefix and whose memo names the mount and the
// instance (mark.go). It walks v2's list (pub-iam-v2-sub-account-
// listsubaccounts: pageNo from 0, pageSize 1-100, sort by
// createdDateTime then loginId, unique, so the order of equal times is
// fixed) and reads each sub account whose loginId has the prefix
// (getSubAccount: the list has no memo). An account holds 500 sub
// accounts at most (management-subaccount-createsubaccount), so an
// inventory is at most 3 x 5 list calls and 500 reads.
func (p *provider) Inventory(ctx context.Context, mark providers.Mark) (*providers.Inventory, error) {
	if !providers.ValidMountID(mark.Mount) || mark.Instance == "" {
		return nil, fmt.Errorf("inventory: mark %+v has no valid mount id and instance", mark)
	}
	prefix := markPrefix(mark.Mount)
	var calls atomic.Int64
	candidates := map[string]subAccountJSON{}
	var last map[string]bool
	for walk := 0; walk < inventoryWalks; walk++ {
		seen, err := p.walkSubAccounts(ctx, prefix, &calls)
		if err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		for id, sa := range seen {
			candidates[id] = sa
		}
		ids := map[string]bool{}
		for id := range seen {
			ids[id] = true
		}
		if last != nil && maps.Equal(last, ids) {
			break
		}
		last = ids
	}

	inv := &providers.Inventory{Kinds: []string{kindSubAccount}}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, inventoryParallel)
	)
	for _, id := range slices.Sorted(maps.Keys(candidates)) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			calls.Add(1)
			sa, err := p.getSubAccount(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case isNotFound(err):
				// Deleted since the list: not in the cloud.
			case err != nil:
				errs = append(errs, fmt.Errorf("read sub account %s (%s): %w", candidates[id].LoginID, id, err))
			case carriesMark(sa.LoginID, sa.Memo, mark):
				obj := providers.CloudObject{ObjectRef: providers.ObjectRef{Kind: kindSubAccount, Name: sa.LoginID, ID: sa.SubAccountID}}
				if t, err := parseTime(sa.CreatedDateTime); err == nil {
					obj.Created = t
				}
				inv.Objects = append(inv.Objects, obj)
			}
		}()
	}
	wg.Wait()
	inv.Calls = int(calls.Load())
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	slices.SortFunc(inv.Objects, func(a, b providers.CloudObject) int { return strings.Compare(a.Name, b.Name) })
	return inv, nil
}

// walkSubAccounts walks every page of the sub account list once and
// returns those whose loginId starts with prefix, by id.
func (p *provider) walkSubAccounts(ctx context.Context, prefix string, calls *atomic.Int64) (map[string]subAccountJSON, error) {
	out := map[string]subAccountJSON{}
	for pageNo := 0; pageNo < maxPages; pageNo++ {
		var page struct {
			pageJSON
			SubAccounts []subAccountJSON `json:"subAccounts"`
		}
		q := url.Values{"pageNo": {strconv.Itoa(pageNo)}, "pageSize": {strconv.Itoa(maxPageSize)},
			"sort": {"createdDateTime,asc", "loginId,asc"}}
		calls.Add(1)
		if err := p.sub.do(ctx, call{op: "ListSubAccounts", method: http.MethodGet, idempotent: true,
			path: v2SubAccounts + "?" + q.Encode(), out: &page}); err != nil {
			return nil, err
		}
		for _, sa := range page.SubAccounts {
			if strings.HasPrefix(sa.LoginID, prefix) && isUUID(sa.SubAccountID) {
				out[sa.SubAccountID] = sa
			}
		}
		if pageNo+1 >= page.TotalPages || len(page.SubAccounts) == 0 {
			return out, nil
		}
	}
	return out, nil
}

// Remove implements providers.Auditor: it reads the sub account and
// deletes it with its access keys (cascading) only if it still has the
// loginId Inventory listed and carries the mark of this instance and of
// the mount its loginId names. A sub account already gone is success.
func (p *provider) Remove(ctx context.Context, mark providers.Mark, obj providers.CloudObject) error {
	if obj.Kind != kindSubAccount {
		return fmt.Errorf("remove: the ncloud driver removes sub accounts, not a %q: %w", obj.Kind, providers.ErrNotSupported)
	}
	mount := mountOfLoginID(obj.Name)
	if !isUUID(obj.ID) || mount == "" || mount != mark.Mount || mark.Instance != p.instance {
		return fmt.Errorf("remove: sub account %q (id %q) is not one this driver marks: not deleted", obj.Name, obj.ID)
	}
	sa, err := p.getSubAccount(ctx, obj.ID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove: read sub account %s (%s): %w", obj.Name, obj.ID, err)
	}
	if sa.LoginID != obj.Name || !carriesMark(sa.LoginID, sa.Memo, mark) {
		return fmt.Errorf("remove: sub account %s (%s) has loginId %q and memo %q, not the mark of mount %s and instance %s: not deleted",
			obj.Name, obj.ID, sa.LoginID, sa.Memo, mount, p.instance)
	}
	if err := p.deleteSubAccount(ctx, obj.ID); err != nil {
		return fmt.Errorf("remove: delete sub account %s (%s): %w", obj.Name, obj.ID, err)
	}
	p.logger.Info("removed an orphaned sub account", "login_id", obj.Name, "sub_account_id", obj.ID)
	return nil
}
