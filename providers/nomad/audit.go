package nomad

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// kindToken is the kind of object the driver makes and Inventory covers.
const kindToken = "token"

const (
	// listPageSize is the per_page of the token lists: 5,000 marked
	// tokens are 50 calls per region.
	listPageSize = 100
	// maxListPages bounds one region's walk (1,000,000 tokens).
	maxListPages = 10000
)

var _ providers.Auditor = (*provider)(nil)

// Inventory implements providers.Auditor: the tokens whose name carries
// mark's prefix (mark.go), listed with GET /v1/acl/tokens and the go-bexpr
// filter `Name matches "^<prefix>"`, page by page (per_page, and the
// X-Nomad-NextToken cursor sent back as next_token: a cursor, not an
// offset, so tokens deleted meanwhile shift nothing; docs/reference/
// nomad-acl.md §1). Local tokens live in the instance's region; global
// tokens are listed in the ACL authoritative region, their home (other
// regions hold replicated copies that lag), so when the two differ the
// instance's region is asked for `Global == false` and the authoritative
// one for `Global == true`. A token's age is its CreateTime.
func (p *provider) Inventory(ctx context.Context, mark providers.Mark) (*providers.Inventory, error) {
	if err := checkMark(mark, p.instance); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	cl, err := p.cluster(ctx)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	prefix := markPrefix(mark)
	filter := prefixFilter(prefix)
	type listing struct{ region, filter string }
	lists := []listing{{cl.region, filter}}
	if cl.authoritative != "" && cl.authoritative != cl.region {
		lists = []listing{{cl.region, filter + " and Global == false"}, {cl.authoritative, filter + " and Global == true"}}
	}
	inv := &providers.Inventory{Kinds: []string{kindToken}}
	for _, l := range lists {
		if err := p.listMarked(ctx, l.region, l.filter, prefix, inv); err != nil {
			return nil, fmt.Errorf("inventory: list the tokens of region %s: %w", l.region, err)
		}
	}
	slices.SortFunc(inv.Objects, func(a, b providers.CloudObject) int { return strings.Compare(a.Name, b.Name) })
	return inv, nil
}

// listMarked walks every page of one region's filtered token list and adds
// the tokens named with prefix to inv.
func (p *provider) listMarked(ctx context.Context, region, filter, prefix string, inv *providers.Inventory) error {
	next := ""
	for page := 0; page < maxListPages; page++ {
		q := p.queryOpts(ctx, region)
		q.Filter, q.PerPage, q.NextToken = filter, listPageSize, next
		var stubs []*api.ACLTokenListStub
		var qm *api.QueryMeta
		inv.Calls++
		err := p.s.retry.retry(ctx, func() error {
			var err error
			stubs, qm, err = p.client.ACLTokens().List(q)
			return err
		})
		if err != nil {
			return cloudErr("ListTokens", err)
		}
		for _, st := range stubs {
			// The filter selected them; the prefix is checked again here,
			// so a server ignoring the filter lists nothing foreign.
			if st == nil || !strings.HasPrefix(st.Name, prefix) || st.AccessorID == "" {
				continue
			}
			inv.Objects = append(inv.Objects, providers.CloudObject{
				ObjectRef: providers.ObjectRef{Kind: kindToken, Name: st.Name, ID: st.AccessorID},
				Created:   st.CreateTime,
			})
		}
		if qm == nil || qm.NextToken == "" {
			return nil
		}
		if qm.NextToken == next {
			return &providers.CloudError{Op: "ListTokens", Code: "IncompleteResponse", Message: "Nomad answered the same next_token twice: " + next}
		}
		next = qm.NextToken
	}
	return &providers.CloudError{Op: "ListTokens", Code: "IncompleteResponse", Message: fmt.Sprintf("more than %d pages", maxListPages)}
}

// Remove implements providers.Auditor: it finds the token by accessor
// (GET /v1/acl/tokens?filter=AccessorID == "<id>": a list stub, never the
// secret) in the instance's region, then in the authoritative region (a
// global token not yet replicated), checks that its name is still the one
// listed and carries the mark of this instance, and deletes it in its home
// region: the authoritative region for a global token. A token found in
// neither is gone: success.
func (p *provider) Remove(ctx context.Context, mark providers.Mark, obj providers.CloudObject) error {
	if obj.Kind != kindToken {
		return fmt.Errorf("remove: the nomad driver removes tokens, not a %q: %w", obj.Kind, providers.ErrNotSupported)
	}
	mount := mountOfName(obj.Name, p.instance)
	if mount == "" || mount != mark.Mount || mark.Instance != p.instance || !isAccessor(obj.ID) {
		return fmt.Errorf("remove: token %q (accessor %q) does not carry this instance's mark: not deleted", obj.Name, obj.ID)
	}
	cl, err := p.cluster(ctx)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	regions := []string{cl.region}
	if cl.authoritative != "" && cl.authoritative != cl.region {
		regions = append(regions, cl.authoritative)
	}
	for _, region := range regions {
		var stubs []*api.ACLTokenListStub
		err := p.s.retry.retry(ctx, func() error {
			q := p.queryOpts(ctx, region)
			q.Filter = fmt.Sprintf("AccessorID == %q", obj.ID)
			var err error
			stubs, _, err = p.client.ACLTokens().List(q)
			return err
		})
		if err != nil {
			return fmt.Errorf("remove: find token %s in region %s: %w", obj.Name, region, cloudErr("ListTokens", err))
		}
		i := slices.IndexFunc(stubs, func(st *api.ACLTokenListStub) bool { return st != nil && st.AccessorID == obj.ID })
		if i < 0 {
			continue
		}
		st := stubs[i]
		if st.Name != obj.Name || mountOfName(st.Name, p.instance) != mount {
			return fmt.Errorf("remove: token %s is now named %q, not %q with the mark of mount %s and instance %s: not deleted", obj.ID, st.Name, obj.Name, mount, p.instance)
		}
		home := region
		if st.Global && cl.authoritative != "" {
			home = cl.authoritative
		}
		if _, err := p.deleteToken(ctx, obj.ID, home); err != nil {
			return fmt.Errorf("remove: delete token %s (accessor %s) in region %s: %w", obj.Name, obj.ID, home, err)
		}
		p.logger.Info("removed an orphaned token", "name", obj.Name, "accessor", obj.ID, "region", home)
		return nil
	}
	return nil
}

// isAccessor reports whether s looks like a Nomad accessor (a UUID: hex
// digits and dashes), so it is safe inside a filter.
func isAccessor(s string) bool {
	if len(s) != 36 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == '-') {
			return false
		}
	}
	return true
}
