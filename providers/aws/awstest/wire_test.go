package awstest_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// TestWireFormat checks the raw answers against AWS's Query protocol:
// namespaces, Result and ResponseMetadata elements, the error envelope and
// the request-id header.
func TestWireFormat(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	ak, sk := ts.RootCredentials()

	t.Run("IAM result", func(t *testing.T) {
		status, h, body := rawCall(t, ts, http.MethodPost, "iam", ak, sk, url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"},
			"UserName": {"wire"}, "Tags.member.1.Key": {"k"}, "Tags.member.1.Value": {"v"}})
		require.Equal(t, 200, status, body)
		require.Equal(t, "text/xml", h.Get("Content-Type"))
		var doc struct {
			XMLName xml.Name
			Result  struct {
				User struct {
					UserName string
					Arn      string
					Tags     struct {
						Member []struct{ Key, Value string } `xml:"member"`
					}
				}
			} `xml:"CreateUserResult"`
			RequestID string `xml:"ResponseMetadata>RequestId"`
		}
		require.NoError(t, xml.Unmarshal([]byte(body), &doc))
		require.Equal(t, "CreateUserResponse", doc.XMLName.Local)
		require.Equal(t, "https://iam.amazonaws.com/doc/2010-05-08/", doc.XMLName.Space)
		require.Equal(t, "wire", doc.Result.User.UserName)
		require.Equal(t, []struct{ Key, Value string }{{"k", "v"}}, doc.Result.User.Tags.Member)
		require.NotEmpty(t, doc.RequestID)
		require.Equal(t, doc.RequestID, h.Get("X-Amzn-Requestid"))
	})
	t.Run("action without output", func(t *testing.T) {
		status, _, body := rawCall(t, ts, http.MethodPost, "iam", ak, sk, url.Values{"Action": {"DeleteUser"}, "Version": {"2010-05-08"}, "UserName": {"wire"}})
		require.Equal(t, 200, status, body)
		require.Regexp(t, `^<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>[0-9a-f-]{36}</RequestId></ResponseMetadata></DeleteUserResponse>$`, body)
	})
	t.Run("STS result", func(t *testing.T) {
		status, _, body := rawCall(t, ts, http.MethodPost, "sts", ak, sk, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}})
		require.Equal(t, 200, status, body)
		require.Contains(t, body, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`)
		require.Contains(t, body, "<Account>123456789012</Account>")
	})
	t.Run("error envelope", func(t *testing.T) {
		status, h, body := rawCall(t, ts, http.MethodPost, "iam", ak, sk, url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}, "UserName": {"ghost"}})
		require.Equal(t, 404, status)
		var e struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct{ Type, Code, Message string }
			ReqID   string `xml:"RequestId"`
		}
		require.NoError(t, xml.Unmarshal([]byte(body), &e))
		require.Equal(t, "Sender", e.Error.Type)
		require.Equal(t, "NoSuchEntity", e.Error.Code)
		require.Equal(t, "The user with name ghost cannot be found.", e.Error.Message)
		require.Equal(t, h.Get("X-Amzn-Requestid"), e.ReqID)
	})
	t.Run("unknown action", func(t *testing.T) {
		status, _, body := rawCall(t, ts, http.MethodPost, "iam", ak, sk, url.Values{"Action": {"FlyToTheMoon"}, "Version": {"2010-05-08"}})
		require.Equal(t, 400, status)
		require.Contains(t, body, "<Code>InvalidAction</Code>")
	})
	t.Run("secrets appear only where asked for", func(t *testing.T) {
		status, _, body := rawCall(t, ts, http.MethodPost, "iam", ak, sk, url.Values{"Action": {"ListAccessKeys"}, "Version": {"2010-05-08"}})
		require.Equal(t, 200, status)
		require.Contains(t, body, ak)
		require.NotContains(t, body, sk)
	})
}
