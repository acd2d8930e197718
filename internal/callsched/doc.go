// Package callsched schedules the API calls of one cloud account, so that
// a burst of work runs as fast as the account allows and no faster.
//
// A cloud rate-limits requests per account, a budget shared with
// everything else the account runs. A Scheduler (one per provider
// instance, that is per account and service) learns the account's rate
// from its throttling answers and paces the calls so that they are rarely
// throttled; a throttled call is retried through the scheduler like any
// other call, so retries do not spend the budget.
//
// Three parts:
//
//   - A concurrency window: 64 calls in flight at the start and after an
//     idle second (Config.InitialWindow), growing by half each round trip
//     while calls succeed and at least half of it is used, up to the
//     operator's ceiling; halved (not under its initial size) when the
//     pace is cut. It never exceeds the
//     ceiling, and a burst into an account already at its limit is refused
//     a fraction of a window instead of all of it.
//   - An adaptive token bucket, off until the account first throttles a
//     call. A throttle of a call sent since the last cut (older calls'
//     throttles describe a pace already corrected) cuts the rate to 0.8
//     times the successes per second the account granted since the last
//     cut (at most the last second). While calls wait for tokens the rate
//     climbs back along a cubic curve (CUBIC's shape): back to the cut rate
//     in 2 s, flat there, then faster, doubling every second past 4 s, so
//     a raised limit is found again. The bucket holds up to a second of
//     rate, so after an idle moment a burst uses what the account's own
//     bucket has refilled; a burst that is throttled halves that.
//     Throttles that come whatever the pace (four cuts in a row, each
//     within 2 s of the previous one) are noise: those cuts are undone and
//     only heavy throttling cuts until the throttles stop.
//   - A queue: calls of operations that started earlier go first
//     (providers.OperationFrom: a revoke already under way finishes before
//     new work piles on), and the kinds of operation (issue, revoke, renew,
//     ...) take turns, one call each, so none starves another.
//
// Why not the AWS SDK's retry.AdaptiveMode: it has the same CUBIC bucket
// but no queue (waiters sleep and retry in no order, so earlier
// operations are not served first) and no concurrency window, and it
// measured worse on the bench's workloads. TestCompareWithSDKAdaptiveMode
// (CALLSCHED_COMPARE=1, real time, 50 IAM-user issues then their 50
// revokes, 8 calls each, 50 ms per call, the emulators' token-bucket
// account) measured, as batch time / floor and calls per operation:
//
//	                         no limit        50/s, runs 1-3               20/s, runs 1-3
//	10 in flight + backoff   2.02 s          1.29-1.50×, 20.8-22.7 calls  0.99-1.04×, 37-40 calls, 12-22 errors
//	SDK AdaptiveMode         0.10 s          1.10-2.19×, 8.06-15.1 calls  1.10-1.25×, 8.14-8.60 calls
//	callsched                0.15-0.36 s     1.02-1.03×, 8.04-8.66 calls  1.00-1.01×, 8.12-8.54 calls
//
// golang.org/x/time/rate is not used for the bucket either: the control
// law empties the bucket at a cut and resizes it with the rate, which
// that limiter does not expose.
package callsched
