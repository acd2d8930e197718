package callsched

import (
	"container/heap"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// waiter is one call waiting for a permit.
type waiter struct {
	op      providers.Operation
	arrival uint64        // order of arrival in the scheduler
	index   int           // position in its kind's heap; -1 when not queued
	ready   chan struct{} // closed once granted
	permit  *Permit
}

// before orders the waiters of one kind: the operation that started first,
// then the call that came first.
func (w *waiter) before(o *waiter) bool {
	if !w.op.Start.Equal(o.op.Start) {
		return w.op.Start.Before(o.op.Start)
	}
	if w.op.Seq != o.op.Seq {
		return w.op.Seq < o.op.Seq
	}
	return w.arrival < o.arrival
}

// kindHeap is a container/heap of the waiters of one kind.
type kindHeap []*waiter

func (h kindHeap) Len() int           { return len(h) }
func (h kindHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h kindHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *kindHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *kindHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// fairQueue holds the waiting calls: one priority queue per operation kind
// (earliest operation first), served in turn, one call per kind per turn,
// so that no kind starves another while each kind finishes what it
// started first.
type fairQueue struct {
	heaps map[providers.OperationKind]*kindHeap
	ring  []providers.OperationKind // kinds that have waiters, in the order they became active
	next  int                       // index in ring of the kind served next
	n     int
}

func newFairQueue() *fairQueue {
	return &fairQueue{heaps: map[providers.OperationKind]*kindHeap{}}
}

func (q *fairQueue) len() int { return q.n }

func (q *fairQueue) push(w *waiter) {
	h := q.heaps[w.op.Kind]
	if h == nil {
		h = &kindHeap{}
		q.heaps[w.op.Kind] = h
	}
	if h.Len() == 0 {
		q.ring = append(q.ring, w.op.Kind)
	}
	heap.Push(h, w)
	q.n++
}

// pop removes and returns the next waiter, nil if none.
func (q *fairQueue) pop() *waiter {
	if q.n == 0 {
		return nil
	}
	if q.next >= len(q.ring) {
		q.next = 0
	}
	kind := q.ring[q.next]
	h := q.heaps[kind]
	w := heap.Pop(h).(*waiter)
	q.n--
	if h.Len() == 0 {
		q.dropKind(q.next)
	} else {
		q.next++
	}
	return w
}

// remove takes w out of the queue; false if it is not queued (granted).
func (q *fairQueue) remove(w *waiter) bool {
	if w.index < 0 {
		return false
	}
	h := q.heaps[w.op.Kind]
	heap.Remove(h, w.index)
	w.index = -1
	q.n--
	if h.Len() == 0 {
		for i, k := range q.ring {
			if k == w.op.Kind {
				q.dropKind(i)
				break
			}
		}
	}
	return true
}

// dropKind removes ring[i], keeping the turn on the kind that followed it.
func (q *fairQueue) dropKind(i int) {
	delete(q.heaps, q.ring[i])
	q.ring = append(q.ring[:i], q.ring[i+1:]...)
	if i < q.next {
		q.next--
	}
	if q.next >= len(q.ring) {
		q.next = 0
	}
}
