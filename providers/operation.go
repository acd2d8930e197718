package providers

import (
	"context"
	"sync/atomic"
	"time"
)

// OperationKind names what a plugin request is doing in the cloud. A
// provider's call scheduler uses it to share the account's request budget
// between kinds of work (revokes must not starve issues, nor the reverse).
type OperationKind string

// The operation kinds the plugin marks its requests with.
const (
	// OpIssue is a credential issue (Prepare, Create and the undo of a
	// failed Create).
	OpIssue OperationKind = "issue"
	// OpRevoke is a lease revocation.
	OpRevoke OperationKind = "revoke"
	// OpRenew is a lease renewal.
	OpRenew OperationKind = "renew"
	// OpRollback is the rollback of an unfinished create (WAL).
	OpRollback OperationKind = "rollback"
	// OpValidate is a config or role write checking what it names.
	OpValidate OperationKind = "validate"
	// OpAdmin is operator work: rotate-root, audit, tidy.
	OpAdmin OperationKind = "admin"
)

// Operation is one plugin request's cloud work. Every cloud call a driver
// makes on behalf of the request carries it in its context, so a
// scheduler can let calls of operations that started earlier go first (a
// revoke already under way finishes before new work piles on).
type Operation struct {
	// Kind is what the request does.
	Kind OperationKind
	// Start is when the operation began.
	Start time.Time
	// Seq is unique per operation in this process and increases with
	// Start; ties on Start are broken by Seq.
	Seq uint64
}

type operationKey struct{}

var operationSeq atomic.Uint64

// WithOperation returns ctx marked with a new operation of the given kind
// starting now. A context that already carries an operation keeps it: a
// revoke made to undo a failed issue is part of that issue.
func WithOperation(ctx context.Context, kind OperationKind) context.Context {
	if _, ok := OperationFrom(ctx); ok {
		return ctx
	}
	return context.WithValue(ctx, operationKey{}, Operation{Kind: kind, Start: time.Now(), Seq: operationSeq.Add(1)})
}

// OperationFrom returns the operation ctx carries, if any.
func OperationFrom(ctx context.Context) (Operation, bool) {
	op, ok := ctx.Value(operationKey{}).(Operation)
	return op, ok
}
