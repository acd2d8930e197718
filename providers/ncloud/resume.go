package ncloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// The steps of a sub_account create call APIs that are not idempotent.
// Each is tried up to 1+max_retries times, and an attempt that failed
// without an answer saying so (no answer, a 5xx) may still have taken
// effect. So before trying again a step first learns from Ncloud what the
// failed attempt did, and goes on from there:
//
//   - the sub account: looked up by the loginId of the WAL intent, which
//     holds the request's unique id, so a sub account with that loginId
//     is this request's;
//   - the policies: the sub account's attached policies are read, and
//     only the missing ones attached again (attaching an attached policy
//     fails, pub-iam-v2-sub-account-attachsubaccountpolicies);
//   - the access key: the sub account's keys are listed; a key there was
//     made by an attempt whose answer, and secret, were lost, so it is
//     deleted before a new key is made (the sub account is this lease's
//     own, and may have two active keys at most).
//
// A throttled attempt (429, "420 Rate Limited") was refused by the API
// Gateway before it reached the service and is simply sent again.
//
// The loops live here rather than in client.do, which retries only calls
// that are safe to repeat as they are.

// attempts returns how many times a step may be tried.
func (p *provider) attempts() int { return 1 + p.cfg.maxRetries }

// pause waits before attempt i (1-based retries), or returns why not.
func pause(ctx context.Context, i int, last error) error {
	if err := sleep(ctx, backoff(i)); err != nil {
		return errors.Join(last, err)
	}
	return nil
}

// ensureSubAccount creates the sub account of loginID (with its display
// name and memo), or finds the one an earlier attempt made, and returns
// its id.
func (p *provider) ensureSubAccount(ctx context.Context, loginID, name, memo string) (string, error) {
	var last error
	unknown := false // an earlier attempt may have created it
	for i := 0; i < p.attempts(); i++ {
		if i > 0 {
			if err := pause(ctx, i, last); err != nil {
				return "", err
			}
		}
		if unknown {
			id, err := p.findSubAccount(ctx, loginID)
			if err != nil {
				last = err
				continue
			}
			if id != "" {
				p.logger.Debug("found the sub account of an earlier attempt", "login_id", loginID, "sub_account_id", id)
				return id, nil
			}
		}
		id, err := p.createSubAccount(ctx, loginID, name, memo)
		switch {
		case err == nil:
			return id, nil
		case isThrottled(err):
		case isAmbiguous(err), isConflict(err):
			// A 409 is the loginId taken: by an attempt whose answer
			// was lost (the loginId holds this request's id).
			unknown = true
		default:
			return "", err
		}
		last = err
	}
	return "", last
}

// attachPolicies attaches policy ids in batches of 10 until all are
// attached. A failed batch is followed by a read of the sub account's
// policies: a failure whose policies are in fact attached (a retried
// attach whose first answer was lost, answered "already attached") is
// success, and only what is missing is attached again; a failure of a
// policy that is not attached is returned with its item's own code.
func (p *provider) attachPolicies(ctx context.Context, subID string, ids []string) error {
	for start := 0; start < len(ids); start += maxPoliciesPerCall {
		if err := p.attachBatch(ctx, subID, ids[start:min(start+maxPoliciesPerCall, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

func (p *provider) attachBatch(ctx context.Context, subID string, batch []string) error {
	var last error
	for i := 0; i < p.attempts() && len(batch) > 0; i++ {
		if i > 0 {
			if err := pause(ctx, i, last); err != nil {
				return err
			}
		}
		err := p.attachPoliciesOnce(ctx, subID, batch)
		if err == nil {
			return nil
		}
		last = err
		ae, _ := asAPIError(err)
		switch {
		case isThrottled(err):
			continue
		case isAmbiguous(err), ae != nil && len(ae.failures) > 0:
		default:
			return err
		}
		sa, gerr := p.getSubAccount(ctx, subID)
		if gerr != nil {
			last = fmt.Errorf("%w (then reading its policies: %v)", err, gerr)
			continue
		}
		attached := map[string]bool{}
		for _, pol := range sa.Policies {
			attached[pol.PolicyID] = true
		}
		if ae != nil {
			for idx := range ae.failures {
				if idx < len(batch) && !attached[batch[idx]] {
					return err // a real failure of that item
				}
			}
		}
		batch = slices.DeleteFunc(slices.Clone(batch), func(id string) bool { return attached[id] })
	}
	if len(batch) == 0 {
		return nil
	}
	return last
}

// issueAccessKey creates the sub account's access key. After an attempt
// that may have made a key whose answer was lost, it deletes the keys the
// sub account has (none of them is held by anyone) before trying again,
// which also keeps it within the two active keys allowed.
func (p *provider) issueAccessKey(ctx context.Context, subID string) (accessKeyJSON, error) {
	var last error
	unknown := false
	for i := 0; i < p.attempts(); i++ {
		if i > 0 {
			if err := pause(ctx, i, last); err != nil {
				return accessKeyJSON{}, err
			}
		}
		if unknown {
			if err := p.deleteLostKeys(ctx, subID); err != nil {
				last = err
				continue
			}
			unknown = false
		}
		key, err := p.createAccessKey(ctx, subID)
		switch {
		case err == nil:
			return key, nil
		case isThrottled(err):
		case isAmbiguous(err), isLimitExceeded(err):
			unknown = true
		default:
			return accessKeyJSON{}, err
		}
		last = err
	}
	return accessKeyJSON{}, last
}

// deleteLostKeys deletes every access key of a sub account made for one
// lease before its key is issued: their secrets were lost with their
// answers.
func (p *provider) deleteLostKeys(ctx context.Context, subID string) error {
	keys, err := p.listAccessKeys(ctx, subID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := p.deleteAccessKey(ctx, p.sub, subID, k.AccessKey); err != nil {
			return fmt.Errorf("delete access key %s, whose secret was lost: %w", k.AccessKey, err)
		}
		p.logger.Info("deleted an access key whose answer was lost", "sub_account_id", subID, "access_key", k.AccessKey)
	}
	return nil
}
