package emulator

import "net/http"

// Cloud describes one emulated cloud to the programs that run them all —
// cmd/cloud-emulator, the demo, the e2e tests and the reliability tests —
// so none of them names the clouds one by one. Each
// emulator package exports one (e.g. awstest.Cloud); the list is in
// cmd/clouds.
type Cloud interface {
	// Name is the name of the cloud's driver, also the default provider
	// instance name (e.g. "aws").
	Name() string
	// Title says what is emulated, e.g. "IAM + STS".
	Title() string
	// New builds an emulator with its fixtures. opts are its own settings
	// by name (e.g. "page_size": "100"); an unknown one is an error.
	New(opts map[string]string) (Instance, error)
	// Use checks, as the cloud's own clients would, that an issued
	// credential (the data of a creds response) works at the cloud a
	// config (Instance.Config) points at.
	Use(config, data map[string]any) error
	// EnvPrefixes are the prefixes of the cloud's own environment
	// variables (e.g. "AWS_"), which a test stack must not inherit.
	EnvPrefixes() []string
}

// Instance is one emulator, served by its caller at a URL.
type Instance interface {
	http.Handler
	// Core is the emulator's fault and call bookkeeping.
	Core() *Core
	// State counts its live objects (see AdminHandler's /state).
	State() map[string]int
	// Config is the config/<name> a provider of this cloud needs to act
	// on the emulator served at url: the driver's own field names, with
	// the emulator's root credential.
	Config(url string) map[string]any
	// Roles are roles of the cloud's driver that the demo, the e2e tests
	// and the reliability tests write and issue; the emulator holds what
	// they name.
	Roles() []Role
	// Inventory tells what a credential of a Revocable role lives in.
	Inventory
}

// Inventory describes the one cloud object each credential of the
// emulator's Revocable roles lives in (an IAM user, a sub account, an ACL
// token), so that the tests that look for leftovers — the reliability
// tests — count, list and hold these objects without naming the cloud.
type Inventory interface {
	// ObjectKind is the key of State that counts those objects, one per
	// credential (fixtures included), e.g. "users".
	ObjectKind() string
	// ObjectNames are the names of every live object of that kind,
	// fixtures included, as the object field of CredFields gives them.
	ObjectNames() []string
	// HasObject reports whether the object named name is live.
	HasObject(name string) bool
	// CredFields name the fields of a Revocable role's creds response
	// that give the object's name and the issued secret.
	CredFields() (object, secret string)
	// CreateAction and DeleteAction are the actions (as Core's holds and
	// call counts name them) that create and delete one such object: a
	// create is cut in the middle after CreateAction took effect, and a
	// revoke or a rollback is done with DeleteAction.
	CreateAction() string
	DeleteAction() string
	// ObjectLimit is the most such objects one account may hold, as the
	// cloud documents it and the emulator enforces it; 0 when no test
	// reaches a limit (thousands of objects or more).
	ObjectLimit() int
}

// Role is one role a program may write and issue.
type Role struct {
	// Name is the role's name.
	Name string `json:"name"`
	// Title says what its credentials are, for people.
	Title string `json:"title"`
	// Fields are the role's fields, credential_type included.
	Fields map[string]any `json:"fields"`
	// Revocable tells that a revoke deletes the credential's objects (a
	// self-expiring credential is not).
	Revocable bool `json:"revocable"`
}

// Endpoint is what cmd/cloud-emulator prints for one running cloud: its
// config (the driver's fields: URLs and the root credential), its admin
// endpoint and its roles.
type Endpoint struct {
	Config map[string]any `json:"config"`
	Admin  string         `json:"admin"`
	Roles  []Role         `json:"roles"`
}

// Endpoints is the one JSON line cmd/cloud-emulator prints: every cloud by
// name (the root credentials in it are the emulators' own, random per run,
// test fixtures rather than secrets of any real cloud).
type Endpoints map[string]Endpoint
