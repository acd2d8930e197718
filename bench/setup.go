package main

import (
	"context"
	"fmt"
)

// engine is one side of the comparison: where its credentials are read.
type engine struct {
	// Name is "builtin" (Vault's own engine) or "multicloud" (this plugin).
	Name string
	// Creds is the path read to issue one credential.
	Creds string
}

// The role every AWS engine gets: 3 managed policies, 2 groups and an
// inline policy.
var (
	benchPolicyARNs = []string{
		"arn:aws:iam::aws:policy/ReadOnlyAccess",
		"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
		"arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess",
	}
	benchGroups         = []string{"bench-developers", "bench-readers"}
	benchPolicyDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench-bucket/*"}]}`
	benchNomadPolicy    = "bench-readonly"
)

// Mounts and creds paths of the two sides, per cloud.
var (
	awsBuiltin     = engine{Name: "builtin", Creds: "aws-builtin/creds/bench"}
	awsOurs        = engine{Name: "multicloud", Creds: "multicloud/creds/aws/bench"}
	awsBuiltinP2   = engine{Name: "builtin", Creds: "aws-builtin-p2/creds/bench"}
	awsOursP2      = engine{Name: "multicloud", Creds: "multicloud/creds/aws-p2/bench"}
	awsBulkBuiltin = engine{Name: "builtin", Creds: "aws-builtin-bulk/creds/bench"}
	awsBulkOurs    = engine{Name: "multicloud", Creds: "multicloud/creds/aws-bulk/bench"}
	awsKeepOurs    = engine{Name: "multicloud", Creds: "multicloud/creds/aws-keep/bench"}
	nomadBuiltin   = engine{Name: "builtin", Creds: "nomad-builtin/creds/bench"}
	nomadOurs      = engine{Name: "multicloud", Creds: "multicloud/creds/nomad/bench"}
	awsEngines     = []engine{awsBuiltin, awsOurs}
	nomadEngines   = []engine{nomadBuiltin, nomadOurs}
	truncatedPairs = []engine{awsBuiltinP2, awsOursP2}
)

// setup mounts Vault's builtin aws (three times: the main, the
// truncated-page and the builtin's bulk account) and nomad engines and the
// plugin, creates the IAM groups and the Nomad policy in the emulators, and
// configures the same role on every side. The plugin's AWS instances are
// aws (main account), aws-p2 (truncated pages), aws-bulk (its bulk
// account), aws-keep (its other leases in the bulk case) and aws-audit
// (the audit case), all with the driver's defaults.
func setup(ctx context.Context, s *stack, c *clouds) error {
	for _, m := range []struct{ path, typ string }{
		{"aws-builtin", "aws"}, {"aws-builtin-p2", "aws"}, {"aws-builtin-bulk", "aws"}, {"nomad-builtin", "nomad"}, {"multicloud", pluginName},
	} {
		if err := s.enable(ctx, m.path, m.typ); err != nil {
			return fmt.Errorf("enable %s (%s): %s", m.path, m.typ, s.masker.mask(err.Error()))
		}
	}
	for _, a := range []awsCloud{c.main, c.truncated, c.bulkOurs, c.bulkBuiltin, c.keep, c.audit.awsCloud} {
		if err := a.createGroups(ctx, benchGroups...); err != nil {
			return err
		}
	}
	if err := c.nomad.putPolicy(ctx, benchNomadPolicy, `namespace "default" { policy = "read" }`); err != nil {
		return err
	}

	awsConfig := func(a awsCloud) map[string]any {
		return map[string]any{"access_key": a.accessKey, "secret_key": a.secretKey, "region": "us-east-1",
			"iam_endpoint": a.url, "sts_endpoint": a.url}
	}
	role := map[string]any{"credential_type": "iam_user", "policy_arns": benchPolicyARNs,
		"iam_groups": benchGroups, "policy_document": benchPolicyDocument}
	p2 := awsConfig(c.truncated)
	p2["driver"] = "aws"
	bulk := awsConfig(c.bulkOurs)
	bulk["driver"] = "aws"
	keep := awsConfig(c.keep)
	keep["driver"] = "aws"
	audit := awsConfig(c.audit.awsCloud)
	audit["driver"] = "aws"
	writes := []struct {
		path string
		data map[string]any
	}{
		{"aws-builtin/config/root", awsConfig(c.main)},
		{"aws-builtin/roles/bench", role},
		{"aws-builtin-p2/config/root", awsConfig(c.truncated)},
		{"aws-builtin-p2/roles/bench", role},
		{"multicloud/config/aws", awsConfig(c.main)},
		{"multicloud/roles/aws/bench", role},
		{"multicloud/config/aws-p2", p2},
		{"multicloud/roles/aws-p2/bench", role},
		{"aws-builtin-bulk/config/root", awsConfig(c.bulkBuiltin)},
		{"aws-builtin-bulk/roles/bench", role},
		{"multicloud/config/aws-bulk", bulk},
		{"multicloud/roles/aws-bulk/bench", role},
		{"multicloud/config/aws-keep", keep},
		{"multicloud/roles/aws-keep/bench", role},
		{"multicloud/config/" + auditInstance, audit},
		{"multicloud/roles/" + auditInstance + "/bench", role},
		{"nomad-builtin/config/access", map[string]any{"address": c.nomad.url, "token": c.nomad.token}},
		{"nomad-builtin/role/bench", map[string]any{"policies": []string{benchNomadPolicy}}},
		{"multicloud/config/nomad", map[string]any{"address": c.nomad.url, "token": c.nomad.token}},
		{"multicloud/roles/nomad/bench", map[string]any{"policies": []string{benchNomadPolicy}}},
	}
	for _, w := range writes {
		if err := s.write(ctx, w.path, w.data); err != nil {
			return err
		}
	}
	return nil
}
