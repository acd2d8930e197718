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
//     pace is cut. It never exceeds the ceiling, and a burst into an
//     account already at its limit is refused part of a window instead of
//     all of it.
//   - An adaptive token bucket, off until the account first throttles a
//     call. A throttle of a call sent since the last cut (older calls'
//     throttles describe a pace already corrected) cuts the rate to 0.8
//     times the successes per second the account granted since the last
//     cut or since the scheduler got busy (at most the last second back).
//     While calls wait for tokens the rate climbs back along a cubic curve
//     (CUBIC's shape): back to the cut rate in 2 s, flat there, then
//     faster, doubling every second past 4 s, so a raised limit is found
//     again. The bucket holds up to a second of rate, so after an idle
//     moment a burst uses what the account's own bucket has refilled; a
//     refused call of such a burst shrinks the burst by a fifth and
//     empties the bucket, without cutting the pace. Throttles that keep
//     coming after three cuts in a row that halved the pace (each soon
//     after the previous one, with as many successes as throttles in
//     between) are noise, not a rate: pacing stops, and only heavy
//     throttling cuts until the throttles stop.
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
// account, a second of refill between batches) measured, as batch time /
// floor and calls per operation (run 1 is each pacer's first throttle):
//
//	                         no limit        50/s, runs 1-3               20/s, runs 1-3
//	10 in flight + backoff   2.03 s          1.35-1.50×, 21.0-22.6 calls  0.92-1.09×, 33-38 calls, 11-21 errors
//	SDK AdaptiveMode         0.10-0.11 s     1.23-2.12×, 8.06-15.0 calls  1.11-1.17×, 8.14-8.74 calls
//	callsched                0.15-0.20 s     1.01-1.03×, 8.04-9.80 calls  1.00-1.01×, 8.10-8.80 calls
//
// (The before case's 20/s runs beat the floor only by failing: failed
// operations do not count.)
//
// golang.org/x/time/rate is not used for the bucket either: the control
// law empties the bucket at a cut and resizes it with the rate, which
// that limiter does not expose.
package callsched
