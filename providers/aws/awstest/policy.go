package awstest

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
)

// docKind says which grammar a policy document follows.
type docKind int

const (
	// identityPolicy: managed, inline and session policies. A statement
	// needs Action and Resource and must not name a Principal.
	identityPolicy docKind = iota
	// trustPolicy: a role's AssumeRolePolicyDocument. A statement needs
	// Action and Principal; Resource is not allowed.
	trustPolicy
)

// Document size limits (characters, white space not counted).
const (
	maxUserInlineTotal = 2048 // all inline policies of one user together
	maxManagedPolicy   = 6144
	maxTrustPolicy     = 2048
	maxSessionPolicy   = 2048 // STS Policy parameter, plain text
	maxDocumentParam   = 131072
)

// policySize counts the characters of doc that are not white space, as IAM
// does for its policy size quotas.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// validatePolicy checks that doc is a policy document of the given kind,
// answering MalformedPolicyDocument with IAM's wording when it is not.
func validatePolicy(doc string, kind docKind) *apiError {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil || dec.More() {
		return errMalformedPolicy("Syntax errors in policy.")
	}
	for k := range top {
		switch k {
		case "Version", "Id", "Statement":
		default:
			return errMalformedPolicy("Syntax errors in policy.")
		}
	}
	if v, ok := top["Version"]; ok {
		var ver string
		if json.Unmarshal(v, &ver) != nil || (ver != "2012-10-17" && ver != "2008-10-17") {
			return errMalformedPolicy("The policy failed legacy parsing")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return errMalformedPolicy("Syntax errors in policy.")
	}
	var stmts []map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		var one map[string]json.RawMessage
		if json.Unmarshal(raw, &one) != nil {
			return errMalformedPolicy("Syntax errors in policy.")
		}
		stmts = append(stmts, one)
	} else if json.Unmarshal(raw, &stmts) != nil || len(stmts) == 0 {
		return errMalformedPolicy("Syntax errors in policy.")
	}
	for _, st := range stmts {
		if err := validateStatement(st, kind); err != nil {
			return err
		}
	}
	return nil
}

func validateStatement(st map[string]json.RawMessage, kind docKind) *apiError {
	for k := range st {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal", "NotPrincipal":
		default:
			return errMalformedPolicy("Syntax errors in policy.")
		}
	}
	var effect string
	if json.Unmarshal(st["Effect"], &effect) != nil || (effect != "Allow" && effect != "Deny") {
		return errMalformedPolicy("Syntax errors in policy.")
	}
	if sid, ok := st["Sid"]; ok {
		var s string
		if json.Unmarshal(sid, &s) != nil {
			return errMalformedPolicy("Syntax errors in policy.")
		}
	}
	_, hasA := st["Action"]
	_, hasNA := st["NotAction"]
	if hasA == hasNA {
		return errMalformedPolicy("Policy statement must contain actions.")
	}
	actions, err := stringOrList(st["Action"], st["NotAction"])
	if err != nil {
		return err
	}
	for _, a := range actions {
		if a != "*" && !strings.Contains(a, ":") {
			return errMalformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		}
	}
	_, hasR := st["Resource"]
	_, hasNR := st["NotResource"]
	_, hasP := st["Principal"]
	_, hasNP := st["NotPrincipal"]
	switch kind {
	case identityPolicy:
		if hasP || hasNP {
			return errMalformedPolicy("Policy document should not specify a principal.")
		}
		if hasR == hasNR {
			return errMalformedPolicy("Policy statement must contain resources.")
		}
		res, err := stringOrList(st["Resource"], st["NotResource"])
		if err != nil {
			return err
		}
		for _, r := range res {
			if r != "*" && !strings.HasPrefix(r, "arn:") {
				return errMalformedPolicy("Resource %s must be in ARN format or \"*\".", r)
			}
		}
	case trustPolicy:
		if hasR || hasNR {
			return errMalformedPolicy("Has prohibited field Resource")
		}
		if !hasP && !hasNP {
			return errMalformedPolicy("Missing required field Principal")
		}
	}
	if c, ok := st["Condition"]; ok {
		var m map[string]map[string]json.RawMessage
		if json.Unmarshal(c, &m) != nil {
			return errMalformedPolicy("Syntax errors in policy.")
		}
	}
	return nil
}

// stringOrList decodes whichever of a, b is set as a string or a non-empty
// list of strings.
func stringOrList(a, b json.RawMessage) ([]string, *apiError) {
	raw := a
	if raw == nil {
		raw = b
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, errMalformedPolicy("Syntax errors in policy.")
	}
	return many, nil
}

// checkDocumentParam applies the model constraints of a PolicyDocument
// parameter (1..131072 characters) before the grammar.
func checkDocumentParam(member, doc string, kind docKind) *apiError {
	if doc == "" {
		return errValidation(member, "", "Member must not be null")
	}
	if len(doc) > maxDocumentParam {
		return errValidation(member, "(document)", "Member must have length less than or equal to 131072")
	}
	return validatePolicy(doc, kind)
}
