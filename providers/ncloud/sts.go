package ncloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Secure Token Service (management-sts-creatests): POST /api/v1/credentials
// {"durationSec": 600..43200 (default 3600)} → {"accessKey","keySecret",
// "createTime","expireTime","useMfa"}, times in ISO 8601.
const (
	stsPath        = "/api/v1/credentials"
	stsMinDuration = 600 * time.Second
	stsMaxDuration = 43200 * time.Second
)

// stsRevokeWarning is returned by every STS revoke.
const stsRevokeWarning = "Ncloud STS keys cannot be revoked early: the key stays valid until its expireTime; keep sts role TTLs short or use a sub_account role for revocable keys"

type stsResponse struct {
	AccessKey  string `json:"accessKey"`
	KeySecret  string `json:"keySecret"`
	CreateTime string `json:"createTime"`
	ExpireTime string `json:"expireTime"`
	UseMfa     bool   `json:"useMfa"`
}

// stsInternal is an STS lease's internal data: the key id and its expiry,
// never the secret.
type stsInternal struct {
	AccessKey  string `json:"access_key"`
	ExpireTime int64  `json:"expire_time"`
}

// stsDuration maps a lease TTL to durationSec: the TTL rounded up to whole
// seconds, at most the API's maximum (the plugin then caps the lease at the
// key's expireTime). A TTL under the minimum is refused: the key would
// outlive its lease, and an STS key cannot be revoked.
func stsDuration(ttl time.Duration) (int, error) {
	if ttl < stsMinDuration {
		return 0, providers.InvalidField("ttl", "%s is below the Ncloud STS minimum of 600 s (durationSec 600-43200): the key would outlive its lease and STS keys cannot be revoked; use a ttl of at least 10m", ttl)
	}
	if ttl > stsMaxDuration {
		ttl = stsMaxDuration
	}
	return int((ttl + time.Second - 1) / time.Second), nil
}

// createSTS issues a temporary key of the configured sub account. A
// throttled attempt took no effect and is sent again. So is one that got
// no answer or a 5xx: if it made a key, that key's secret was never seen
// by anyone, it has the configured sub account's own permissions, and it
// expires by itself within the lease TTL (Ncloud has no API to find or
// delete it).
func (p *provider) createSTS(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	dur, err := stsDuration(req.TTL)
	if err != nil {
		return nil, err
	}
	var out stsResponse
	for i := 0; i < p.attempts(); i++ {
		if i > 0 {
			if perr := pause(ctx, i, err); perr != nil {
				return nil, perr
			}
		}
		err = p.sts.do(ctx, call{op: "CreateCredentials", method: http.MethodPost, path: stsPath,
			body: map[string]int{"durationSec": dur}, out: &out})
		if err == nil || !(isThrottled(err) || isAmbiguous(err)) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if out.AccessKey == "" || out.KeySecret == "" {
		return nil, &apiError{op: "CreateCredentials", status: http.StatusOK, message: "the answer carries no accessKey/keySecret"}
	}
	expiry, err := parseTime(out.ExpireTime)
	if err != nil {
		return nil, &apiError{op: "CreateCredentials", status: http.StatusOK, message: "expireTime: " + err.Error()}
	}
	internal, err := json.Marshal(stsInternal{AccessKey: out.AccessKey, ExpireTime: expiry.Unix()})
	if err != nil {
		return nil, err
	}
	p.logger.Debug("issued STS key", "role", req.Role, "access_key", out.AccessKey, "duration_sec", dur, "expire_time", out.ExpireTime)
	return &providers.CreateResponse{
		Data: map[string]any{
			"access_key":  out.AccessKey,
			"secret_key":  out.KeySecret,
			"create_time": out.CreateTime,
			"expire_time": out.ExpireTime,
		},
		Internal:  internal,
		Renewable: true,
		Expiry:    expiry,
		Objects:   []providers.ObjectRef{{Kind: "sts_key", Name: out.AccessKey}},
	}, nil
}

// revokeSTS is a no-op: Ncloud has no API to end an STS key early.
func (p *provider) revokeSTS(req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	in, err := decodeSTSInternal(req.Internal)
	if err != nil {
		return nil, err
	}
	p.logger.Debug("STS key cannot be revoked early; it expires by itself", "access_key", in.AccessKey, "expire_time", time.Unix(in.ExpireTime, 0).UTC())
	return &providers.RevokeResponse{Warnings: []string{fmt.Sprintf("%s (access key %s expires at %s)", stsRevokeWarning, in.AccessKey, time.Unix(in.ExpireTime, 0).UTC().Format(time.RFC3339))}}, nil
}

func decodeSTSInternal(raw json.RawMessage) (stsInternal, error) {
	var in stsInternal
	if err := decodeInternal(raw, &in); err != nil {
		return in, err
	}
	if in.ExpireTime == 0 {
		return in, fmt.Errorf("lease internal data has no expire_time: %w", providers.ErrUnrecoverable)
	}
	return in, nil
}

// parseTime parses Ncloud's ISO 8601 times ("2024-10-10T16:58:28Z", with
// or without zone or fraction; no zone means UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}
