package ncloud

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// callerIdentityPath is STS's "who owns this key" API (get-caller-identity).
const callerIdentityPath = "/api/v1/caller-identity"

// userType values of caller-identity (get-caller-identity).
const (
	userCustomer = "Customer" // the main account
	userSub      = "Sub"      // a sub account
	userRole     = "Role"     // role-switched temporary credentials
)

// callerIdentity is the answer of GET /api/v1/caller-identity: the key
// owner's unique id, the account's login page alias and the owner's type.
type callerIdentity struct {
	ID         string `json:"id"`
	LoginAlias string `json:"loginAlias"`
	UserType   string `json:"userType"`
}

// callerIdentity asks STS who owns the configured key. A 404 is STS's
// documented answer to an invalid or expired credential (the error's hint
// says so); it never means the API is missing.
func (p *provider) callerIdentity(ctx context.Context) (callerIdentity, error) {
	var out callerIdentity
	err := p.sts.do(ctx, call{op: "GetCallerIdentity", method: http.MethodGet, path: callerIdentityPath, out: &out, idempotent: true})
	if err != nil {
		return callerIdentity{}, err
	}
	if out.ID == "" || out.UserType == "" {
		return callerIdentity{}, &apiError{op: "GetCallerIdentity", status: http.StatusOK, message: "the answer carries no id or userType"}
	}
	return out, nil
}

// Target identifies the Ncloud account and site this instance acts on,
// the same for every key of the account (so rotating or replacing the
// root key keeps it): the account's member number, which every NRN of
// the account's resources carries ("nrn:domainCode:productName:
// regionCode:memberNo:resourceType/resourceId", with no distinction
// between sub accounts, management-rmgr-1-1-2), read from the NRN of the
// sub account that owns the key (caller-identity, then getSubAccount), and
// the site from the NRN's domainCode. A main account key (userType
// Customer) is bound to the main account's id instead, which caller-
// identity gives for any of its keys. The answer is cached: a config
// change opens a new provider.
func (p *provider) Target(ctx context.Context) (providers.Target, error) {
	p.targetMu.Lock()
	defer p.targetMu.Unlock()
	if p.target != nil {
		return *p.target, nil
	}
	t, err := p.resolveTarget(ctx)
	if err != nil {
		return providers.Target{}, fmt.Errorf("identify the Ncloud account: %w", err)
	}
	p.target = &t
	p.logger.Debug("identified the Ncloud account", "target", t.ID)
	return t, nil
}

func (p *provider) resolveTarget(ctx context.Context) (providers.Target, error) {
	ci, err := p.callerIdentity(ctx)
	if err != nil {
		return providers.Target{}, err
	}
	var nrnText string
	switch ci.UserType {
	case userCustomer:
		return providers.Target{
			ID:          "ncloud:" + p.cfg.site + ":customer:" + ci.ID,
			Description: fmt.Sprintf("Ncloud account of main account %s (login alias %q, site %s)", ci.ID, ci.LoginAlias, p.cfg.site),
		}, nil
	case userSub:
		sa, err := p.getSubAccount(ctx, ci.ID)
		if err != nil {
			return providers.Target{}, err
		}
		nrnText = sa.NRN
	default:
		// Role-switched credentials: any sub account's NRN names the
		// account.
		subs, err := p.listSubAccounts(ctx, 1)
		if err != nil {
			return providers.Target{}, err
		}
		if len(subs) == 0 {
			return providers.Target{}, fmt.Errorf("the key belongs to a %q identity and the account has no sub account whose NRN names the account", ci.UserType)
		}
		nrnText = subs[0].NRN
	}
	n, err := parseNRN(nrnText)
	if err != nil {
		return providers.Target{}, &apiError{op: "GetSubAccount", status: http.StatusOK, message: err.Error()}
	}
	site := p.cfg.site
	if s, ok := nrnSites[n.domain]; ok {
		site = s
	}
	return providers.Target{
		ID:          "ncloud:" + site + ":" + n.memberNo,
		Description: fmt.Sprintf("Ncloud account %s (login alias %q, site %s)", n.memberNo, ci.LoginAlias, site),
	}, nil
}

// nrnSites maps an NRN domainCode to the site ("PUB" is documented; GOV
// and FIN follow it).
var nrnSites = map[string]string{"PUB": sitePublic, "GOV": siteGov, "FIN": siteFin}

// nrn is the part of an NRN the target needs.
type nrn struct {
	domain, memberNo string
}

// parseNRN reads nrn:domainCode:productName:regionCode:memberNo:resource
// (domainCode and regionCode may be empty; memberNo is required and
// numeric).
func parseNRN(s string) (nrn, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "nrn" {
		return nrn{}, fmt.Errorf("unrecognised NRN %q", s)
	}
	if _, err := strconv.ParseUint(parts[4], 10, 64); err != nil || parts[4] == "" {
		return nrn{}, fmt.Errorf("NRN %q has no member number", s)
	}
	return nrn{domain: strings.ToUpper(parts[1]), memberNo: parts[4]}, nil
}

// getSubAccount reads one sub account (pub-iam-v2-sub-account-getsubaccount).
func (p *provider) getSubAccount(ctx context.Context, id string) (subAccountJSON, error) {
	var out subAccountJSON
	err := p.sub.do(ctx, call{op: "GetSubAccount", method: http.MethodGet, idempotent: true,
		path: v2SubAccounts + "/" + url.PathEscape(id), out: &out})
	return out, err
}
