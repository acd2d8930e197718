package aws

import (
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// DenyActions wraps an emulator so that the named IAM actions are answered
// as IAM answers a credential whose policies do not allow them: 403
// AccessDenied "... is not authorized to perform ...". Every other request
// goes to h unchanged. n counts the denied calls. (awstest.Deny.)
func DenyActions(h http.Handler, n *atomic.Int64, actions ...string) http.Handler {
	return awstest.Deny(h, func(action string) bool {
		if slices.Contains(actions, action) {
			n.Add(1)
			return true
		}
		return false
	})
}
