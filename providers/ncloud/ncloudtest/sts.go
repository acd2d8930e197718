package ncloudtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// STS durationSec bounds and default (management-sts-creatests).
const (
	stsMinDurationSec     = 600
	stsMaxDurationSec     = 43200
	stsDefaultDurationSec = 3600
)

// timeFormat is the ISO 8601 form of every time in the answers, e.g.
// "2024-10-10T16:58:28Z".
const timeFormat = "2006-01-02T15:04:05Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

type stsRequest struct {
	// DurationSec is an integer; the documented curl example sends it as a
	// string ("43200"), so both are accepted.
	DurationSec  json.RawMessage `json:"durationSec"`
	SerialNumber string          `json:"serialNumber"`
	TokenCode    json.RawMessage `json:"tokenCode"`
}

type stsResponse struct {
	AccessKey  string `json:"accessKey"`
	KeySecret  string `json:"keySecret"`
	CreateTime string `json:"createTime"`
	ExpireTime string `json:"expireTime"`
	UseMfa     bool   `json:"useMfa"`
}

// stsCreateCredentials serves POST /api/v1/credentials: a temporary key of
// the caller's sub account, valid for durationSec seconds.
func (s *Server) stsCreateCredentials(w http.ResponseWriter, req *request) {
	var in stsRequest
	if len(bytes.TrimSpace(req.body)) > 0 {
		if err := json.Unmarshal(req.body, &in); err != nil {
			stsBadRequest(w, "The request body is not a valid JSON object.")
			return
		}
	}
	dur, ok := parseDurationSec(in.DurationSec)
	if !ok {
		stsBadRequest(w, "durationSec must be an integer between "+strconv.Itoa(stsMinDurationSec)+" and "+strconv.Itoa(stsMaxDurationSec)+".")
		return
	}
	mfa := in.SerialNumber != "" && len(in.TokenCode) > 0 && string(in.TokenCode) != "null"
	if req.caller.main {
		// STS keys "can be created from sub accounts" (management-sts);
		// the answer to a main account key is this emulator's choice.
		permissionDenied(w, "STS keys are issued to sub accounts only.")
		return
	}

	s.mu.Lock()
	k := req.st.issueSTS(req.caller.subAccountID, time.Duration(dur)*time.Second, mfa, s.clock())
	out := stsResponse{AccessKey: k.id, KeySecret: k.secret, CreateTime: fmtTime(k.created), ExpireTime: fmtTime(k.expires), UseMfa: k.useMfa}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// parseDurationSec accepts a JSON number or numeric string; absent or null
// means the default.
func parseDurationSec(raw json.RawMessage) (int, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return stsDefaultDurationSec, true
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return 0, false
		}
		v, err := strconv.Atoi(str)
		if err != nil {
			return 0, false
		}
		n = v
	}
	return n, n >= stsMinDurationSec && n <= stsMaxDurationSec
}

// stsBadRequest: the STS docs give no error body, so STS validation errors
// use the gateway envelope with HTTP 400 and errorCode "100".
func stsBadRequest(w http.ResponseWriter, details string) {
	writeGatewayError(w, http.StatusBadRequest, gwBadRequest, msgBadRequest, details)
}

// callerIdentity is the answer of GET /api/v1/caller-identity
// (get-caller-identity): the key owner's id, the account's loginAlias
// ("access page URL" alias) and userType Customer (main account), Sub or
// Role (role-switched temporary credentials; not emulated).
type callerIdentity struct {
	ID         string `json:"id"`
	LoginAlias string `json:"loginAlias"`
	UserType   string `json:"userType"`
}

// stsCallerIdentity serves GET /api/v1/caller-identity: a sub account key
// and an STS key (which acts as its sub account) are "Sub" with the sub
// account's id; the main account key is "Customer" with the main
// account's id.
func (s *Server) stsCallerIdentity(w http.ResponseWriter, req *request) {
	out := callerIdentity{ID: req.caller.subAccountID, LoginAlias: req.st.acct.loginAlias, UserType: "Sub"}
	if req.caller.main {
		out.ID, out.UserType = req.st.acct.customerID, "Customer"
	}
	writeJSON(w, http.StatusOK, out)
}
