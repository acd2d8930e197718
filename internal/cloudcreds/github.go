package cloudcreds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GitHub Actions' OIDC token endpoint, as @actions/core's getIDToken uses
// it (actions/toolkit, packages/core/src/oidc-utils.ts): GET
// $ACTIONS_ID_TOKEN_REQUEST_URL, with "&audience=<encodeURIComponent(aud)>"
// appended when an audience is wanted, header "Authorization: Bearer
// $ACTIONS_ID_TOKEN_REQUEST_TOKEN"; the answer is JSON {"value": "<JWT>"}.
// The runner sets both variables only for jobs with `permissions:
// id-token: write`.
const (
	envGitHubRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"

	githubAttempts     = 3
	githubAttemptDelay = time.Second
	githubTimeout      = 20 * time.Second
)

// githubIDToken fetches a JWT for audience from GitHub Actions' OIDC
// endpoint. Transport errors and 5xx/429 answers are retried a few times.
func (a *app) githubIDToken(ctx context.Context, audience string) (string, error) {
	reqURL := a.getenv(envGitHubRequestURL)
	reqToken := a.getenv(envGitHubRequestToken)
	if reqToken == "" {
		return "", failf(ExitDenied, "GitHub OIDC: %s is set but %s is not; does the job have permissions: id-token: write?",
			envGitHubRequestURL, envGitHubRequestToken)
	}
	a.log.redact(reqToken)
	u, err := githubTokenURL(reqURL, audience)
	if err != nil {
		return "", failf(ExitDenied, "GitHub OIDC: %s: %v", envGitHubRequestURL, err)
	}
	var last error
	for attempt := 1; attempt <= githubAttempts; attempt++ {
		tok, retry, err := a.githubFetch(ctx, u, reqToken)
		if err == nil {
			return tok, nil
		}
		last = err
		if !retry || attempt == githubAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return "", failf(ExitDenied, "GitHub OIDC: %v", ctx.Err())
		case <-time.After(githubAttemptDelay * time.Duration(attempt)):
		}
	}
	return "", last
}

// githubTokenURL appends the audience as @actions/core does.
func githubTokenURL(reqURL, audience string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("not an http(s) URL")
	}
	if audience == "" {
		return reqURL, nil
	}
	sep := "&"
	if u.RawQuery == "" {
		sep = "?"
		if strings.HasSuffix(reqURL, "?") {
			sep = ""
		}
	}
	// encodeURIComponent encodes a space as %20, QueryEscape as "+".
	return reqURL + sep + "audience=" + strings.ReplaceAll(url.QueryEscape(audience), "+", "%20"), nil
}

// githubFetch makes one request; retry says whether another may help.
func (a *app) githubFetch(ctx context.Context, u, reqToken string) (tok string, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, githubTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, failf(ExitDenied, "GitHub OIDC: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries nothing secret, but is noise
		}
		return "", true, failf(ExitUnavailable, "GitHub OIDC endpoint unreachable: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", true, failf(ExitUnavailable, "GitHub OIDC: reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		code := ExitDenied
		if retry {
			code = ExitUnavailable
		}
		// An error answer carries no token; show its start to help.
		return "", retry, failf(code, "GitHub OIDC endpoint answered %d: %s", resp.StatusCode, snippet(body))
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return "", false, failf(ExitDenied, "GitHub OIDC endpoint answered 200 without a token in \"value\"")
	}
	return out.Value, false, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
