package awstest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
)

// Deny wraps h (an emulator) so that the IAM Query API actions for which
// deny returns true are answered as IAM answers a credential whose
// policies do not allow them: 403 AccessDenied "... is not authorized to
// perform ..." in the awsquery error shape. Every other request goes to h
// unchanged. Tests and the benchmark use it to reach a driver's
// AccessDenied paths without writing IAM policies into the emulator.
func Deny(h http.Handler, deny func(action string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if a := form.Get("Action"); a != "" && deny(a) {
			writeError(w, svcIAM, newRequestID(), errAccessDenied(
				"User: arn:aws:iam::123456789012:user/vault-plugin is not authorized to perform: iam:%s because no identity-based policy allows the iam:%s action", a, a))
			return
		}
		h.ServeHTTP(w, r)
	})
}
