package aws

import (
	"errors"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// IAM error codes the driver acts on.
const (
	codeNoSuchEntity   = "NoSuchEntity"
	codeDeleteConflict = "DeleteConflict"
	codeAlreadyExists  = "EntityAlreadyExists"
)

// errorCode returns the AWS error code of err ("" if it has none).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// errorMessage returns the AWS error message of err ("" if it has none).
func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func isNoSuchEntity(err error) bool { return errorCode(err) == codeNoSuchEntity }

// isAccessDenied reports whether AWS refused the call because the
// credential's policies do not allow it.
func isAccessDenied(err error) bool   { return classifyLookup(err) == lookupDenied }
func isDeleteConflict(err error) bool { return errorCode(err) == codeDeleteConflict }

// cloudErr wraps an SDK error as a *providers.CloudError naming the step.
// AWS error messages never hold a secret; the request is never included.
func cloudErr(op string, err error) error {
	if err == nil {
		return nil
	}
	ce := &providers.CloudError{Op: op, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		ce.Code = ae.ErrorCode()
		ce.Message = ae.ErrorMessage()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		ce.StatusCode = re.HTTPStatusCode()
	}
	return ce
}
