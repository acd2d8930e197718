package plugin

import (
	"context"
	"errors"
	"net/http"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// userError marks a plain bad-request message from the backend itself.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func badRequest(msg string) error { return &userError{msg: msg} }

// respondErr maps an error to the response Vault expects for it:
//   - bad input (a *providers.FieldError or a backend check): 400 with the
//     message, which names the field;
//   - not found or not configured: 404;
//   - a cloud failure: 502 with the cloud's step and code (never a secret);
//   - a timeout: 504;
//   - anything else: 500.
func respondErr(err error) (*logical.Response, error) {
	var fe *providers.FieldError
	var ue *userError
	var nc *errNotConfigured
	var ce *providers.CloudError
	switch {
	case errors.As(err, &fe), errors.As(err, &ue), errors.Is(err, providers.ErrNotSupported):
		return logical.ErrorResponse(err.Error()), nil
	case errors.As(err, &nc), errors.Is(err, providers.ErrNotFound):
		return nil, logical.CodedError(http.StatusNotFound, err.Error())
	case errors.As(err, &ce):
		return nil, logical.CodedError(http.StatusBadGateway, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return nil, logical.CodedError(http.StatusGatewayTimeout, err.Error())
	}
	return nil, err
}
