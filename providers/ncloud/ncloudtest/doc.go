// Package ncloudtest is a wire-faithful emulator of the Naver Cloud Platform
// (Ncloud) Secure Token Service API and Sub Account API (v1 and v2), written
// from Ncloud's public API documentation for the ncloud driver's tests. It
// shares no code with the driver.
//
// One Server (an http.Handler) answers both APIs, so a test points the
// driver's sts_endpoint and subaccount_endpoint at the same URL. The real
// services live on two hosts per site:
//
//	public  https://sts.apigw.ntruss.com          https://subaccount.apigw.ntruss.com
//	gov     https://sts.apigw.gov-ntruss.com      https://subaccount.apigw.gov-ntruss.com
//	fin     https://sts.apigw.fin-ntruss.com      https://subaccount.apigw.fin-ntruss.com
//
// The admin endpoints of internal/emulator (GET state, GET calls, GET/POST
// faults, POST reset) are served under /_emulator on the same server.
//
// # Authentication (API Gateway)
//
// Sources: management-sts and management-subaccount overviews,
// pub-iam-v2-overview, ai-application-service-apigateway (API Gateway
// overview), api-call-lgc-errorhandling.
//
// Every call carries x-ncp-apigw-timestamp (Unix milliseconds),
// x-ncp-iam-access-key and x-ncp-apigw-signature-v2 = Base64(HmacSHA256(
// secret, "METHOD URI\ntimestamp\naccessKey")), URI being the request path
// with its query string — the message the SDK's hmac.Signer builds, which the
// emulator uses to recompute it. A request whose timestamp is more than 5
// minutes (Options.MaxClockSkew) from the server clock is invalid. Because the
// SDK's generated service clients send the same signature in
// x-ncp-apigw-signature-v1, that header is accepted when -v2 is absent.
// Accepted keys: sub-account access keys (the root key included) and
// unexpired STS keys; the docs name no session-token header, so an STS key
// signs exactly like a permanent key and acts as its sub account. A key of a
// deleted sub account, a deleted key and an expired STS key are refused.
//
// Gateway errors have the body
//
//	{"error":{"errorCode":"200","message":"Authentication Failed","details":"..."}}
//
// with the documented status/code/message pairs: 400 "100" Bad Request
// Exception, 401 "200" Authentication Failed (missing header, bad or skewed
// timestamp, unknown/deleted/expired key, wrong signature — the details say
// which, never the secret), 401 "210" Permission Denied, 404 "300" Not Found
// Exception (no such API), 413 "430" Request Entity Too Large, 429 "420" Rate
// Limited, 500 "900" Unexpected Error. The details texts are this emulator's
// wording.
//
// Fault injection (emulator.Core.Enter, one action per call): Throttle is the
// 429 "420" answer, ServerError the 500 "900" answer, Drop closes the
// connection — before the request takes effect, or, for the share
// Options.DropAfterEffect of drops, after it (the answer is lost, not the
// effect). Server.LoseAnswers(action, n) loses the answers of the next n
// calls of action after their effect. Actions: CreateCredentials,
// GetCallerIdentity, CreateSubAccount, ListSubAccounts, GetSubAccount,
// DeleteSubAccount, AddSubAccountPolicies, RemoveSubAccountPolicies,
// CreateAccessKey, ListAccessKeys, ChangeAccessKeyStatus, DeleteAccessKey,
// ListPolicies — the same names for v1 and v2.
//
// # Accounts
//
// A server plays one Ncloud account (Options.MemberNo, random by default)
// and more with AddAccount, all behind the same hosts, as on the real
// gateway: a key acts in the account it belongs to and sees nothing of
// the others. Every account has a main account key (MainCredentials,
// userType Customer) besides its sub accounts' keys. Sub accounts carry an
// NRN, nrn:domainCode:productName:regionCode:memberNo:resourceType/
// resourceId (management-rmgr-1-1-2: memberNo is the account's, "no
// distinction between sub accounts"), here nrn:PUB:IAM::<memberNo>:
// SubAccount/<id> (Options.Domain gives GOV or FIN).
//
// # Secure Token Service (management-sts-creatests)
//
// POST /api/v1/credentials, body {"durationSec": N, "serialNumber", "tokenCode"}
// (all optional). durationSec is 600..43200, default 3600 (an older page says
// min 900; the current one says 600). The docs' curl example sends it as a
// string, so a numeric string is accepted too. Answer 200:
//
//	{"accessKey":"ncp_iam_…","keySecret":"ncp_iam_…","createTime":"2024-10-10T16:58:28Z","expireTime":"2024-10-10T17:58:28Z","useMfa":false}
//
// with expireTime = createTime + durationSec (times in ISO 8601 UTC, whole
// seconds). There is no API to delete an STS key: it lives until expireTime.
// Silent in the docs, chosen here: a bad durationSec or body is HTTP 400 with
// the gateway envelope, errorCode "100"; any authenticated sub account may
// call STS (no policy needed); useMfa is true when serialNumber and tokenCode
// are both given (the OTP is not checked); a main account key is refused
// (401 "210": STS keys "can be created from sub accounts").
//
// GET /api/v1/caller-identity (get-caller-identity) answers the key's
// owner: {"id","loginAlias","userType"} with userType Customer (main
// account, id the main account's), Sub (a sub account's key or its STS
// key, id the sub account's) or Role (role-switched credentials; not
// emulated); loginAlias is the account's login page alias.
//
// The STS guide lists 404 as an invalid or expired credential
// (management-sts, response status codes): an expired STS key calling an
// STS API is answered 404 {"error":{"errorCode":"404","message":"Not
// Found","details":...}} (the body is this emulator's choice; it is not
// the gateway's "300" no-such-API answer).
//
// # Sub Account API
//
// Both documented versions are served on shared state; a driver uses one.
// A caller needs a policy that manages sub accounts (the seeded
// NCP_ADMINISTRATOR, or one added with Server.AddPolicy(name, true)),
// otherwise v1 answers 401 "210" Permission Denied and v2 answers 403
// {"error":{"errorCode":"Forbidden",...}}.
//
// Rules from the docs: loginId 3-60 characters of letters, digits and
// ". @ - _", first a letter (createsubaccount, checkloginid), unique in the
// account (compared case-insensitively here — a choice); name 2-30
// characters after trimming; memo at most 300 bytes (v1 createsubaccount
// "0~300" bytes, v2 updatesubaccount "길이: 0~300"; v2's create page, as
// stored for this work, lists its fields only up to consolePermitIpEnabled,
// so memo on the v2 create is taken from v1 and the v2 update); a password (8-16, letters+digits+symbols) is
// required unless generation is requested; at most 500 sub accounts; at most
// 2 *active* access keys per sub account (v2 LimitExceeded on create or on
// activation; an inactive key neither counts nor authenticates,
// pub-iam-v2-sub-account-changeaccesskeystatus); a sub account that still
// has access keys cannot be deleted (v2 409 ResourceInUse, unless
// ?cascading=true); attaching a policy that is already attached fails.
// Keys look like "ncp_iam_" + 20 characters. Policies are referenced by
// policyId (a UUID); list the policies to map names to ids.
//
// v1 (docs/en/management-subaccount-*), errors
// {"error":{"errorCode":<integer>,"message":"..."}}:
//
//	POST   /api/v1/sub-accounts                         body loginId,name,email,memo,password,needPasswordGenerate,
//	                                                    needPasswordReset*,canAPIGatewayAccess*,canConsoleAccess* (* required)
//	                                                    → 200 {"success":true,"id":"<subAccountId>"}
//	GET    /api/v1/sub-accounts?searchColumn=loginId|name|subAccountNo&searchWord=&page=0&size=10
//	                                                    → {"page","totalPages","totalItems","hasPrevious","hasNext","isFirst","isLast","items":[…]}
//	                                                    (searchWord is a "search keyword": the docs do not say exact
//	                                                    or partial, so it matches as a substring here, the stricter
//	                                                    case for a client looking for one loginId)
//	GET    /api/v1/sub-accounts/{id}                    → {"subAccountId","subAccountNo","loginId","name","canAPIGatewayAccess",…,"createTime"}
//	DELETE /api/v1/sub-accounts/{id}                    → {"success":true}
//	POST   /api/v1/sub-accounts/{id}/policies           {"policyIdList":[…]} → [{"success":true,"id":"<policyId>","name":"addPolicy"},…]
//	DELETE /api/v1/sub-accounts/{id}/policies           {"policyIdList":[…]} → [{"success":true,"id":"<policyId>"},…]
//	                                                    (an unknown/unattached policy: {"success":false,"id","message"} item)
//	POST   /api/v1/sub-accounts/{id}/access-keys        → {"accessKey","keySecret","createTime"}
//	GET    /api/v1/sub-accounts/{id}/access-keys        → [{"accessKey","active","createTime"}]
//	DELETE /api/v1/sub-accounts/{id}/access-keys        {"accessKey":"…"} → {"success":true}
//	PUT    /api/v1/sub-accounts/{id}/access-keys        {"accessKey":"…","active":bool} → {"success":true}
//	GET    /api/v1/policies?page=&size=&searchColumn=policyName&searchWord=&type=SYSTEM_MANAGED|USER_CREATED
//	                                                    → paged like sub accounts, items {"policyId","policyName","policyType","createTime"}
//
// v1 error codes: documented — 401/30 nonexistent (sub) account, 400/904
// nonexistent access key. Chosen — 400/100 validation, 400/910 duplicate
// loginId, 400/905 key limit, 400/906 delete refused while keys remain (the
// v1 page is silent; the v2 rule is applied), 400/907 sub account limit;
// an already attached policy is a {"success":false} item.
// Also chosen: the v1 list-access-keys answer is a bare array; the create
// answer is a ProcessResult carrying the new id.
//
// v2 (docs/pub-iam-v2-sub-account-*), errors
// {"error":{"errorCode":"…","message":"…","detail":"…","fieldErrors":[{"field","message"}]}}:
//
//	POST   /api/v2/sub-accounts                         body loginId,name,email,memo,password,passwordResetRequired,
//	                                                    passwordGenerationRequired,apiGatewayAccessible*,consoleAccessible*
//	                                                    → 201 {"subAccountId","nrn","loginId","name","memo","apiGatewayAccessible","consoleAccessible","active","createdDateTime"[,"password"]}
//	GET    /api/v2/sub-accounts?pageNo=0&pageSize=20(1-100)&sort=loginId|name|createdDateTime,asc|desc (default createdDateTime,desc;
//	                                                    repeatable, the first key first)
//	                                                    → {"subAccounts":[…],"totalElements","totalPages","pageNo","pageSize"}, items
//	                                                    {"subAccountId","nrn","loginId","name","consoleAccessible","apiGatewayAccessible",
//	                                                    "active","createdDateTime"} only (listsubaccounts: email and memo are in the GET)
//	GET    /api/v2/sub-accounts/{id}                    → the sub account (with "email", "memo") plus "policies":[{"policyId","policyName","policyType"}]
//	DELETE /api/v2/sub-accounts/{id}[?cascading=true]   → 204; 409 ResourceInUse while keys remain
//	POST   /api/v2/sub-accounts/{id}/attach-policies    {"policyIds":[1-10 unique]} → 204, atomic
//	POST   /api/v2/sub-accounts/{id}/detach-policies    {"policyIds":[1-10 unique]} → 204, atomic
//	                                                    (a failure names each failed item in a Batch Failure Response,
//	                                                    {"failures":{"<index>":{"errorCode","message","detail"}}},
//	                                                    type-batch-response; status: the items' own, 400 when mixed)
//	POST   /api/v2/sub-accounts/{id}/access-keys        → 201 {"accessKey","keySecret","createdDateTime"}; 400 LimitExceeded past 2
//	GET    /api/v2/sub-accounts/{id}/access-keys        → {"accessKeys":[{"accessKey","active","createdDateTime"}]}
//	DELETE /api/v2/sub-accounts/{id}/access-keys/{key}  → 204
//	POST   /api/v2/sub-accounts/{id}/access-keys/{key}/change-status {"active":bool} → 204
//	GET    /api/v2/policies?pageNo=&pageSize=&policyType= → {"policies":[…],"totalElements","totalPages","pageNo","pageSize"} (shape chosen)
//
// v2 error codes: documented — 400 BadRequest (validation, malformed
// subAccountId, with fieldErrors), 400 LimitExceeded, 403 Forbidden, 404
// SubAccountNotFound, 409 ResourceInUse. Chosen — 404 AccessKeyNotFound, 404
// PolicyNotFound (unknown policy on attach, not-attached policy on detach;
// detail "Policy does not Exist. (policyId: …)" as in the overview's
// example), 409 Conflict for a duplicate loginId and for an item already
// attached.
//
// # Fixtures
//
// A fresh or reset server (accounts added with AddAccount are dropped)
// holds the System Managed policies NCP_ADMINISTRATOR,
// NCP_INFRA_MANAGER, NCP_VPC_SERVER_MANAGER, NCP_SERVER_MANAGER,
// NCP_VPC_MANAGER, NCP_OBJECT_STORAGE_MANAGER and NCP_FINANCE_MANAGER, and
// the sub account Options.RootSubAccount (default "vault-root") with
// NCP_ADMINISTRATOR and one access key, the root credential. A driver can
// rotate it like any key: create a second key for that sub account, then
// delete the old one. State() counts all of these.
package ncloudtest
