package nomad

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

const (
	// envAddr and envToken are the only environment variables the driver
	// reads: as a pair when the config has no address, or the token alone
	// with use_ambient_credentials=true.
	envAddr  = "NOMAD_ADDR"
	envToken = "NOMAD_TOKEN"

	// maxConnsPerHost bounds the connections to Nomad, so a mass revoke
	// does not flood the servers. (Vault's builtin engine builds a new
	// client per request and so has no shared bound; make bench showed a
	// cap of 10 made 50 concurrent issues 2.7x slower than it for no gain,
	// as a Nomad server answers ACL calls from memory.)
	maxConnsPerHost = 32
	// openCheckTimeout bounds the token check of Open.
	openCheckTimeout = 10 * time.Second
	// requestTimeout bounds one HTTP exchange with Nomad.
	requestTimeout = 60 * time.Second
)

func osGetenv(k string) string { return os.Getenv(k) }

// settings are an instance's resolved connection settings.
type settings struct {
	address        string
	addressFromEnv bool
	token          string
	tokenFromEnv   bool
	region         string
	tls            *api.TLSConfig
	maxNameLength  int
	retry          retryPolicy
	names          *naming.Template
	// namesConverted is the text an old-dialect token_name_template was
	// converted to ("" if it was not converted).
	namesConverted string
}

// resolve validates the config and applies the environment fallbacks.
//
// Vault's environment credential (NOMAD_TOKEN) goes only where the same
// environment points (NOMAD_ADDR, used when the config has no address),
// or anywhere when the config says use_ambient_credentials=true: a config
// naming some other address without a token must not make the plugin
// send the environment's token there.
func (d *Driver) resolve(cfg providers.Values, instance string) (*settings, error) {
	s := &settings{region: strings.TrimSpace(cfg.String(fieldRegion))}
	ambient := cfg.Bool(fieldUseAmbient)
	envAddress, envTokenValue := strings.TrimSpace(d.getenv(envAddr)), strings.TrimSpace(d.getenv(envToken))

	s.address = strings.TrimSpace(cfg.String(fieldAddress))
	if s.address == "" {
		s.address, s.addressFromEnv = envAddress, true
	}
	if s.address == "" {
		return nil, providers.InvalidField(fieldAddress, "is required (or set %s in Vault's environment), e.g. https://nomad.example.com:4646", envAddr)
	}
	u, err := url.Parse(s.address)
	if err != nil {
		return nil, providers.InvalidField(fieldAddress, "is not a URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, providers.InvalidField(fieldAddress, "must be an http:// or https:// URL, got scheme %q", u.Scheme)
	case u.Host == "":
		return nil, providers.InvalidField(fieldAddress, "has no host")
	case u.User != nil:
		return nil, providers.InvalidField(fieldAddress, "must not carry user:password credentials (they would be shown on config read)")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "":
		// The Nomad client drops a path prefix silently; refuse rather
		// than call somewhere else than the operator wrote.
		return nil, providers.InvalidField(fieldAddress, "must not have a path or query (the Nomad API is always under /v1), got %q", u.Path)
	}

	s.token = strings.TrimSpace(cfg.String(fieldToken))
	if s.token == "" && (s.addressFromEnv || ambient) {
		s.token, s.tokenFromEnv = envTokenValue, true
	}
	if s.token == "" {
		if envTokenValue != "" {
			return nil, providers.InvalidField(fieldToken, "is required: address is set in the config, and %s of Vault's environment is only sent to %s (leave address unset) or with %s=true", envToken, envAddr, fieldUseAmbient)
		}
		return nil, providers.InvalidField(fieldToken, "is required (or set %s in Vault's environment): a Nomad management token", envToken)
	}

	if s.tls, err = tlsSettings(cfg, u.Scheme); err != nil {
		return nil, err
	}

	s.retry = retryPolicy{maxRetries: defaultMaxRetries, maxBackoff: defaultMaxBackoff}
	if cfg.Has(fieldMaxRetries) {
		s.retry.maxRetries = cfg.Int(fieldMaxRetries)
	}
	if cfg.Has(fieldMaxBackoff) {
		s.retry.maxBackoff = cfg.Duration(fieldMaxBackoff)
	}
	switch {
	case s.retry.maxRetries < 0 || s.retry.maxRetries > maxMaxRetries:
		return nil, providers.InvalidField(fieldMaxRetries, "must be between 0 and %d, got %d", maxMaxRetries, s.retry.maxRetries)
	case s.retry.maxBackoff <= 0:
		return nil, providers.InvalidField(fieldMaxBackoff, "must be positive")
	case time.Duration(s.retry.maxRetries)*s.retry.maxBackoff > maxRetrySleep:
		return nil, providers.InvalidField(fieldMaxRetries, "max_retries × retry_max_backoff is %s, more than %s: one call would retry past Vault's 90s request timeout", time.Duration(s.retry.maxRetries)*s.retry.maxBackoff, maxRetrySleep)
	}

	s.maxNameLength = cfg.Int(fieldMaxNameLength)
	if s.maxNameLength < 1 || s.maxNameLength > nomadMaxTokenNameLength {
		return nil, providers.InvalidField(fieldMaxNameLength, "must be between 1 and %d (Nomad refuses longer token names), got %d", nomadMaxTokenNameLength, s.maxNameLength)
	}
	// The template renders what the instance's mark prefix leaves.
	if s.names, s.namesConverted, err = parseNameTemplate(cfg.String(fieldNameTemplate), s.maxNameLength, templateBudget(s.maxNameLength, instance)); err != nil {
		return nil, err
	}
	return s, nil
}

// tlsSettings validates the PEM fields and returns the client's TLS
// settings (nil for plain HTTP without any TLS field).
func tlsSettings(cfg providers.Values, scheme string) (*api.TLSConfig, error) {
	ca := strings.TrimSpace(cfg.String(fieldCACert))
	cert := strings.TrimSpace(cfg.String(fieldClientCert))
	key := strings.TrimSpace(cfg.String(fieldClientKey))
	serverName := strings.TrimSpace(cfg.String(fieldTLSServerName))
	if ca == "" && cert == "" && key == "" && serverName == "" {
		return nil, nil
	}
	if scheme != "https" {
		for _, f := range []struct{ name, v string }{{fieldCACert, ca}, {fieldClientCert, cert}, {fieldClientKey, key}, {fieldTLSServerName, serverName}} {
			if f.v != "" {
				return nil, providers.InvalidField(f.name, "is set but address is not https://; TLS settings would be ignored")
			}
		}
	}
	t := &api.TLSConfig{TLSServerName: serverName}
	if ca != "" {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(ca)) {
			return nil, providers.InvalidField(fieldCACert, "holds no PEM certificate")
		}
		t.CACertPEM = []byte(ca)
	}
	switch {
	case cert == "" && key == "":
	case cert == "":
		return nil, providers.InvalidField(fieldClientCert, "is required when client_key is set")
	case key == "":
		return nil, providers.InvalidField(fieldClientKey, "is required when client_cert is set")
	default:
		if b, _ := pem.Decode([]byte(cert)); b == nil {
			return nil, providers.InvalidField(fieldClientCert, "holds no PEM certificate")
		}
		if _, err := tls.X509KeyPair([]byte(cert), []byte(key)); err != nil {
			// The parse error never quotes the key material.
			return nil, providers.InvalidField(fieldClientKey, "does not form a key pair with client_cert: %v", err)
		}
		t.ClientCertPEM, t.ClientKeyPEM = []byte(cert), []byte(key)
	}
	return t, nil
}

// newClient builds the Nomad API client from the settings alone: no
// api.DefaultConfig, so NOMAD_REGION, NOMAD_NAMESPACE, NOMAD_HTTP_AUTH,
// NOMAD_CACERT, NOMAD_SKIP_VERIFY and the like of the Vault process do not
// change what the plugin does.
func newClient(s *settings) (*api.Client, error) {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          maxConnsPerHost,
		MaxIdleConnsPerHost:   maxConnsPerHost,
		MaxConnsPerHost:       maxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	hc := &http.Client{Transport: transport, Timeout: requestTimeout}
	if err := api.ConfigureTLS(hc, s.tls); err != nil {
		return nil, providers.InvalidField(fieldCACert, "TLS settings: %v", err)
	}
	return api.NewClient(&api.Config{
		Address:    s.address,
		SecretID:   s.token,
		Region:     s.region,
		HttpClient: hc,
	})
}

// open is Driver.Open.
func (d *Driver) open(ctx context.Context, req providers.OpenRequest) (*provider, error) {
	s, err := d.resolve(req.Config, req.Instance)
	if err != nil {
		return nil, err
	}
	c, err := newClient(s)
	if err != nil {
		return nil, err
	}
	logger := req.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	p := &provider{d: d, instance: req.Instance, s: s, client: c, logger: logger}

	cctx, cancel := context.WithTimeout(ctx, openCheckTimeout)
	defer cancel()
	var self *api.ACLToken
	err = s.retry.retry(cctx, func() error {
		var err error
		self, _, err = c.ACLTokens().Self(p.queryOpts(cctx, ""))
		return err
	})
	if err != nil {
		c.Close()
		return nil, cloudErr("ReadSelfToken", err)
	}
	if self.Type != typeManagement {
		c.Close()
		return nil, providers.InvalidField(fieldToken, "is a %s token (accessor %s); creating and deleting ACL tokens needs a management token", self.Type, self.AccessorID)
	}
	if s.namesConverted != "" {
		logger.Warn("token_name_template is in the earlier Go-template dialect; using its conversion to Vault's template language (write it to the config to silence this)", "converted", s.namesConverted)
	}
	logger.Debug("opened", "address", s.address, "region", s.region, "token_accessor", self.AccessorID, "token_from_env", s.tokenFromEnv)
	return p, nil
}

// cloudErr wraps a Nomad API failure as a *providers.CloudError naming
// the step, with Nomad's status and message (Nomad's error bodies never
// echo a secret). TLS failures get a hint.
func cloudErr(op string, err error) error {
	ce := &providers.CloudError{Op: op, Err: err}
	var ure api.UnexpectedResponseError
	if errors.As(err, &ure) {
		ce.StatusCode = ure.StatusCode()
		ce.Code = http.StatusText(ure.StatusCode())
		ce.Message = ure.Body()
		return ce
	}
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &unknownAuth):
		ce.Code = "TLSUntrustedCertificate"
		ce.Message = fmt.Sprintf("Nomad's TLS certificate is not signed by a trusted CA; set ca_cert to the CA that signed it (%v)", err)
	case strings.Contains(err.Error(), "tls: certificate required"), strings.Contains(err.Error(), "tls: bad certificate"):
		// The server's TLS alert; crypto/tls does not export its type.
		ce.Code = "TLSClientCertificateRefused"
		ce.Message = fmt.Sprintf("Nomad requires a client certificate it trusts; set client_cert and client_key (%v)", err)
	case errors.As(err, &hostErr):
		ce.Code = "TLSHostnameMismatch"
		ce.Message = fmt.Sprintf("Nomad's TLS certificate is not valid for the address's host; fix address or set tls_server_name (%v)", err)
	case errors.Is(err, context.DeadlineExceeded):
		ce.Code = "Timeout"
	default:
		ce.Code = "ConnectionError"
	}
	return ce
}

// apiStatus returns the HTTP status and body of a Nomad API error (0 if
// the error is not an HTTP answer).
func apiStatus(err error) (int, string) {
	var ure api.UnexpectedResponseError
	if errors.As(err, &ure) {
		return ure.StatusCode(), ure.Body()
	}
	return 0, ""
}
