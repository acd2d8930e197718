package callsched

import (
	"math"
	"time"
)

// The control law's constants. The reasoning and the measurements behind
// them are in doc.go and docs/benchmarks.md.
const (
	// successWindow is how far back successes are counted to measure the
	// rate the account is granting.
	successWindow = time.Second
	// minMeasure is the shortest window the granted rate is measured on.
	minMeasure = 200 * time.Millisecond
	// minSamples is the fewest successes the granted rate is measured on.
	minSamples = 8
	// beta is the share of the measured rate kept after a throttle.
	beta = 0.8
	// plateau is the rate-bound time after a throttle it takes to climb
	// back to the rate that was throttled (CUBIC's K). Growth is flat
	// around that rate and speeds up beyond it.
	plateau = 2 * time.Second
	// minRate is the slowest pace, in calls per second (as the AWS SDK's
	// adaptive retry mode).
	minRate = 0.5
	// maxRate bounds the climb (no arithmetic with infinities): a million
	// calls per second is no limit.
	maxRate = 1e6
	// maxBurstTime and minBurstTime bound the client-side bucket's
	// capacity, in seconds of the learned rate: after an idle moment the
	// account's own bucket has refilled, and a burst of what it holds is
	// not throttled. A burst that is throttled shrinks it by burstShrink;
	// each call of a burst that goes through grows it by one call.
	maxBurstTime = time.Second
	minBurstTime = 50 * time.Millisecond
	burstShrink  = 0.8
	// defaultInitialWindow is the concurrency limit at the start and after an
	// idle moment (capped by the ceiling): it grows each round trip while
	// calls succeed and at least half of it is used (TCP's slow start and
	// restart after idle, RFC 5681 and RFC 7661), so that a burst into an
	// account that is already at its limit is refused part of a window,
	// not hundreds of calls. It is also the lowest the limit drops to after
	// a throttle. 64 keeps a burst of 50 IAM issues (50 calls, then 350)
	// within 4 round trips; 16 took 7 and cost a fifth of the builtin
	// engine's batch time, for fewer refused calls (measured in the
	// simulation: 8.9 instead of 9.8 calls per issue the first time the
	// account throttles).
	defaultInitialWindow = 64
	// growth is how much each success that used the window widens it:
	// 0.5 makes it grow by half each round trip, so that the burst that
	// finds an account's limit overshoots it by a third of a window.
	growth = 0.5
	// noiseStreak: when this many cuts in a row each came soon after the
	// previous one (within a plateau or shortAnswers answers) with as many
	// successes as throttles since, and they halved the pace, lowering the
	// pace does not make the throttles rarer: they are not about our rate
	// (a fault that throttles a share of all calls at random), and cutting
	// on would pace the calls down to minRate. (A real limit of a few calls
	// a second also cuts soon after the last cut, but the pace stays close
	// to the limit.) The scheduler stops pacing (the last cut is not
	// made), and from then on a cut needs noiseAnswers answers in the
	// current epoch, most of them throttles; noiseClean successes in a row
	// and a plateau without any throttle end this.
	noiseStreak  = 3
	shortAnswers = 12
	noiseAnswers = 10
	noiseClean   = 50
	// idleRestart is how long the scheduler must have had nothing in
	// flight or waiting for its window to restart at its initial size.
	idleRestart = time.Second
)

// controller is the scheduler's control law: a concurrency window and an
// adaptive token bucket, learned from the answers. It is not safe for
// concurrent use (the Scheduler's mutex guards it).
//
//   - Until the first throttle the bucket is off: an unthrottled burst runs
//     at the concurrency window, which starts at its initial size and grows
//     by half each round trip while used, up to the ceiling.
//   - A throttle of a call sent in the current epoch (older calls'
//     throttles describe a rate already corrected) cuts the rate to beta
//     times what the account granted (successes per second since the last
//     cut, at most the last second back; half the pace when there are too
//     few to measure), halves the window and empties the bucket. One cut
//     per epoch.
//   - While calls wait for tokens (and only then: idle time proves nothing)
//     the rate climbs back along a cubic curve, flat around the rate that
//     was throttled and steeper past it, so it finds a raised limit again.
//   - Throttles that keep coming while cuts halve the pace are noise (see
//     noiseStreak).
type controller struct {
	ceiling int
	initial float64 // the window at the start and after an idle moment
	window  float64

	limited bool
	rate    float64 // calls per second, once limited
	tokens  float64
	filled  time.Time // when tokens was last brought up to date
	// burstTime is the bucket's capacity in seconds of rate; lastShrink
	// is when a refused burst last shrank it.
	burstTime  time.Duration
	lastShrink time.Time
	inBurst    bool // the bucket has been full and has not run dry since

	epoch   uint64
	lastCut time.Time
	lastMax float64 // the rate that was throttled at the last cut
	// bound is the time calls spent waiting for tokens since the last cut;
	// boundSince is when the current wait began (zero if none).
	bound      time.Duration
	boundSince time.Time

	succ successLog

	// epochSucc and epochThr count the answers to the calls sent in the
	// current epoch. streak counts the cuts in a row that came less than
	// a plateau after the previous one; noisy is set when it reaches
	// noiseStreak (see noiseStreak).
	epochSucc, epochThr int
	streak              int
	streakRate          float64 // the pace before the streak's first cut
	noisy               bool
	lastThrottle        time.Time
	// cleanRun counts the successes since the last throttle.
	cleanRun int
	// busySince is when the scheduler started working after an idle
	// restart (or at all).
	busySince time.Time

	throttles, cuts uint64
}

func newController(ceiling, initial int) *controller {
	return &controller{ceiling: ceiling, initial: min(float64(initial), float64(ceiling)), window: min(float64(initial), float64(ceiling)), burstTime: maxBurstTime}
}

// restart brings the window back to its initial size after an idle moment.
func (c *controller) restart(now time.Time) {
	c.busySince = now
	c.window = min(c.window, c.initial)
}

// limit is the number of calls that may be in flight.
func (c *controller) limit() int { return int(c.window) }

func (c *controller) burst() float64 { return max(1, c.rate*c.burstTime.Seconds()) }

// refill brings the bucket up to now at the current rate.
func (c *controller) refill(now time.Time) {
	if dt := now.Sub(c.filled); dt > 0 {
		c.tokens = min(c.burst(), c.tokens+dt.Seconds()*c.rate)
	}
	c.filled = now
}

// boundTime is the rate-bound time since the last cut, up to now.
func (c *controller) boundTime(now time.Time) time.Duration {
	if c.boundSince.IsZero() {
		return c.bound
	}
	return c.bound + now.Sub(c.boundSince)
}

// cubicRate is the rate after t of rate-bound time since the last cut:
// beta·lastMax at t=0, lastMax at t=plateau (reached flat, CUBIC's
// concave part), 1.2·lastMax at twice the plateau (convex), then doubling
// every half plateau, so that a limit that was raised is found again in
// seconds.
func (c *controller) cubicRate(t time.Duration) float64 {
	x := (t - plateau).Seconds() / plateau.Seconds()
	if x <= 1 {
		return max(minRate, c.lastMax*(1+(1-beta)*x*x*x))
	}
	return min(maxRate, c.lastMax*(2-beta)*math.Exp2(2*(x-1)))
}

// take grants one call at now if the bucket allows, else says how long
// until it will. burstCall reports that the call is part of a burst: sent
// since the bucket was last full and before it first ran dry, faster than
// the pace.
func (c *controller) take(now time.Time) (ok bool, wait time.Duration, burstCall bool) {
	if !c.limited {
		return true, 0, false
	}
	c.refill(now)
	if r := c.cubicRate(c.boundTime(now)); r != c.rate {
		c.rate = r
		c.tokens = min(c.tokens, c.burst())
	}
	if c.tokens >= c.burst()-1 {
		c.inBurst = true // full: what follows is a burst until it is spent
	}
	if c.tokens >= 1 {
		c.tokens--
		return true, 0, c.inBurst
	}
	c.inBurst = false
	wait = time.Duration((1 - c.tokens) / c.rate * float64(time.Second))
	return false, max(wait, time.Millisecond), false
}

// setBound records whether calls are waiting for tokens from now on.
func (c *controller) setBound(now time.Time, bound bool) {
	if !c.boundSince.IsZero() {
		c.bound += now.Sub(c.boundSince)
		c.boundSince = time.Time{}
	}
	if bound {
		c.boundSince = now
	}
}

// success records a call that the account served; full says the window
// was at least half used when it was sent.
func (c *controller) success(now time.Time, epoch uint64, burstCall, full bool) {
	c.succ.add(now)
	if epoch == c.epoch {
		c.epochSucc++
	}
	c.cleanRun++
	if full {
		c.window = min(float64(c.ceiling), c.window+growth)
	}
	if burstCall && c.limited && c.burstTime < maxBurstTime {
		// A burst call went through: the account's bucket holds at least
		// one more call than we thought.
		c.burstTime = min(maxBurstTime, c.burstTime+time.Duration(float64(time.Second)/max(c.rate, minRate)))
	}
}

// throttled records a call the account refused for its rate; epoch is the
// epoch the call was sent in, inFlight the calls in flight. It reports
// whether the pace was cut.
func (c *controller) throttled(now time.Time, epoch uint64, burstCall bool, inFlight int) (cut bool) {
	c.throttles++
	clean := c.cleanRun >= noiseClean && now.Sub(c.lastThrottle) >= plateau
	c.cleanRun = 0
	defer func() { c.lastThrottle = now }()
	if epoch != c.epoch {
		return false
	}
	c.epochThr++
	if burstCall && c.limited {
		// A call of a burst (sent from stored tokens, faster than the
		// pace) was refused: the account's bucket holds less than ours,
		// not its rate. Empty ours, keep the pace, and hold a smaller
		// burst from now on (once per burst: its other calls may come
		// back refused too). A refused call sent at the pace cuts it.
		c.tokens, c.filled, c.inBurst = 0, now, false
		if now.Sub(c.lastShrink) > successWindow {
			c.burstTime = max(minBurstTime, time.Duration(float64(c.burstTime)*burstShrink))
			c.lastShrink = now
		}
		return false
	}
	if c.noisy {
		if clean {
			// A quiet plateau: whatever threw throttles at random is gone.
			c.noisy, c.streak = false, 0
		} else if c.epochThr+c.epochSucc < noiseAnswers || c.epochThr <= c.epochSucc {
			return false
		}
	}
	// The rate the account granted: the successes of the last second, or
	// only those since the last cut if it is more recent (so that a storm
	// of throttles converges in a few cuts instead of trusting successes
	// served at an older, higher limit).
	from := now.Add(-successWindow)
	if c.lastCut.After(from) {
		from = c.lastCut
	}
	if c.busySince.After(from) && (c.limited || c.succ.count(from) < minSamples) {
		// The window began idle: count since the scheduler got busy.
		// (Before the first cut only with too few successes to say the
		// account is slow: a burst that has just emptied the account's
		// bucket would measure far more than its rate.)
		from = c.busySince
	}
	n := c.succ.count(from)
	var base float64
	switch {
	case !c.limited:
		base = float64(n) / max(now.Sub(from), minMeasure).Seconds()
	case n == 0:
		// Nothing went through since the last cut: a storm; halve.
		base = c.rate / 2 / beta
	default:
		// A short window measures coarsely: trust it down to a quarter.
		base = min(max(float64(n)/now.Sub(from).Seconds(), c.rate/4), c.rate)
	}
	base = max(base, minRate)
	short := !c.lastCut.IsZero() && (now.Sub(c.lastCut) < plateau || c.epochSucc+c.epochThr < shortAnswers)
	switch {
	case short && c.epochSucc >= c.epochThr:
		// A cut soon after the last one, with as many successes as
		// throttles since: the throttles may come whatever the pace.
		// (Mostly throttles: the last cut was not deep enough, a storm
		// converging, which neither counts nor breaks the streak.)
		if c.streak == 0 {
			c.streakRate = math.Inf(1)
			if c.limited {
				c.streakRate = c.rate
			}
		}
		c.streak++
	case !short:
		c.streak = 0
	}
	if !c.noisy && c.streak >= noiseStreak && c.rate <= c.streakRate/2 {
		// Cut after cut did not make the throttles rarer, though the pace
		// halved: they are not about our pace. Stop pacing; heavy
		// throttling still cuts.
		c.noisy, c.streak = true, 0
		c.limited = false
		c.epoch++
		c.epochSucc, c.epochThr = 0, 0
		c.lastCut = now
		return false
	}
	c.limited = true
	c.lastMax = base
	c.rate = max(minRate, beta*base)
	c.tokens, c.filled, c.inBurst = 0, now, false
	c.bound = 0
	if !c.boundSince.IsZero() {
		c.boundSince = now
	}
	c.window = max(c.initial, min(c.window, float64(inFlight+1))/2)
	c.epoch++
	c.epochSucc, c.epochThr = 0, 0
	c.cuts++
	c.lastCut = now
	return true
}

// successLog holds the completion times of the successes of the last
// successWindow, oldest first.
type successLog struct {
	times []time.Time
	head  int
}

func (l *successLog) add(t time.Time) {
	l.times = append(l.times, t)
	l.trim(t.Add(-successWindow))
}

// count returns the successes at or after since.
func (l *successLog) count(since time.Time) int {
	l.trim(since)
	return len(l.times) - l.head
}

func (l *successLog) trim(since time.Time) {
	for l.head < len(l.times) && l.times[l.head].Before(since) {
		l.head++
	}
	if l.head > 64 && l.head*2 > len(l.times) {
		n := copy(l.times, l.times[l.head:])
		l.times = l.times[:n]
		l.head = 0
	}
}
