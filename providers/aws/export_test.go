package aws

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
)

// DenyActions wraps an emulator so that the named IAM actions are answered
// as IAM answers a credential whose policies do not allow them: 403
// AccessDenied "... is not authorized to perform ...". Every other request
// goes to h unchanged. n counts the denied calls. (awstest emulates no
// IAM authorization, so this is how tests reach the AccessDenied path.)
func DenyActions(h http.Handler, n *atomic.Int64, actions ...string) http.Handler {
	deny := map[string]bool{}
	for _, a := range actions {
		deny[a] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if a := form.Get("Action"); deny[a] {
			n.Add(1)
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`+
				`<Error><Type>Sender</Type><Code>AccessDenied</Code>`+
				`<Message>User: arn:aws:iam::123456789012:user/vault-plugin is not authorized to perform: iam:%s because no identity-based policy allows the iam:%s action</Message>`+
				`</Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>`, a, a)
			return
		}
		h.ServeHTTP(w, r)
	})
}
