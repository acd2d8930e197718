package aws

import (
	"net/url"
	"regexp"
	"strings"
)

// AWS's own IAM and STS endpoints: the global and regional ones, FIPS,
// dual-stack (api.aws), the China and ISO partitions' domains, and
// interface VPC endpoints (vpce-….<service>.<region>.vpce.amazonaws.com),
// always over https. See "AWS Identity and Access Management endpoints and
// quotas" and "AWS Security Token Service endpoints and quotas" in the AWS
// General Reference, and "Access AWS STS using an interface VPC endpoint"
// in the IAM User Guide. The region label is a real region's shape
// (us-east-1, cn-north-1, us-gov-west-1, us-iso-east-1) or IAM's own
// "global"/"us-gov" labels, so hosts such as
// <bucket>.s3-website-us-east-1.amazonaws.com never match.
var (
	reAWSEndpointHost = regexp.MustCompile(`^(iam|sts)(-fips)?(\.([a-z]{2}(-[a-z]+)+-\d+|global|us-gov))?\.(amazonaws\.com|amazonaws\.com\.cn|api\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov)$`)
	reAWSVPCEHost     = regexp.MustCompile(`^vpce-[a-z0-9-]+\.(iam|sts)(-fips)?\.[a-z]{2}(-[a-z]+)+-\d+\.vpce\.amazonaws\.com(\.cn)?$`)
)

// isAWSEndpoint reports whether raw (a validated http(s) URL) is one of
// AWS's own IAM or STS endpoints.
func isAWSEndpoint(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	if p := u.Port(); p != "" && p != "443" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	return reAWSEndpointHost.MatchString(host) || reAWSVPCEHost.MatchString(host)
}

// normalizeEndpoint returns raw in one spelling per place: lower-case
// scheme and host, no default port, no trailing '/'.
func normalizeEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && !(scheme == "https" && p == "443") && !(scheme == "http" && p == "80") {
		host += ":" + p
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}
