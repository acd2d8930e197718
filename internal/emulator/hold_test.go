package emulator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// enterAsync runs one call of action in a goroutine: Enter, then done. It
// reports the fault Enter returned once Enter returns, and closes finished
// when done returns.
func enterAsync(c *Core, action string) (faults chan Fault, finished chan struct{}) {
	faults, finished = make(chan Fault, 1), make(chan struct{})
	go func() {
		f, done := c.Enter(action)
		faults <- f
		done()
		close(finished)
	}()
	return faults, finished
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// blocked asserts that ch yields nothing for a moment.
func blocked[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s went on while held", what)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestHoldBeforeEffect(t *testing.T) {
	cases := []struct {
		name    string
		release Fault
	}{
		{"released to take effect", None},
		{"released as a dropped connection", Drop},
		{"released as throttled", Throttle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCore()
			h := c.Hold(HoldSpec{Action: "CreateUser", Stage: BeforeEffect})
			faults, finished := enterAsync(c, "CreateUser")
			require.NoError(t, h.Wait(waitCtx(t), 1))
			blocked(t, faults, "Enter")
			require.Equal(t, 1, h.Waiting())

			// Other actions are not caught.
			f, done := c.Enter("GetUser")
			done()
			require.Equal(t, None, f)

			h.Release(tc.release)
			require.Equal(t, tc.release, <-faults)
			<-finished
			require.Equal(t, 0, h.Waiting())
			require.Equal(t, 1, h.Caught())
			require.Equal(t, tc.release.String(), c.Calls().Log[0].Fault, "the call log shows how the call ended")

			// Released: later calls go straight through.
			f, done = c.Enter("CreateUser")
			done()
			require.Equal(t, None, f)
			require.Equal(t, 1, h.Caught())
		})
	}
}

func TestHoldAfterEffect(t *testing.T) {
	c := NewCore()
	h := c.Hold(HoldSpec{Action: "CreateAccessKey", Stage: AfterEffect})
	faults, finished := enterAsync(c, "CreateAccessKey")
	require.Equal(t, None, <-faults, "the call is acted on at once")
	require.NoError(t, h.Wait(waitCtx(t), 1))
	blocked(t, finished, "the answer")
	require.Equal(t, 1, c.Calls().MaxInFlight, "a held answer is still in flight")
	h.Release(Drop) // the fault does not matter after the effect
	<-finished
	require.Equal(t, "", c.Calls().Log[0].Fault)
}

func TestHoldSkipAndLimit(t *testing.T) {
	c := NewCore()
	h := c.Hold(HoldSpec{Action: "AttachUserPolicy", Stage: AfterEffect, Skip: 2, Limit: 1})
	for i := range 2 {
		f, done := c.Enter("AttachUserPolicy")
		done() // would block if caught
		require.Equal(t, None, f, "call %d is skipped", i)
	}
	_, finished := enterAsync(c, "AttachUserPolicy")
	require.NoError(t, h.Wait(waitCtx(t), 1))
	blocked(t, finished, "the third answer")
	f, done := c.Enter("AttachUserPolicy")
	done() // over the limit: not caught
	require.Equal(t, None, f)
	require.Equal(t, 1, h.Caught())
	h.Release(None)
	<-finished
}

func TestHoldIgnoresFaultedCalls(t *testing.T) {
	c := NewCore()
	c.SetFaults(Faults{ThrottleRate: 1})
	h := c.Hold(HoldSpec{Action: "CreateUser", Stage: BeforeEffect})
	f, done := c.Enter("CreateUser")
	done()
	require.Equal(t, Throttle, f, "a throttled call is answered, not held")
	require.Equal(t, 0, h.Caught())
}

func TestHoldTimeoutAndReset(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		c := NewCore()
		h := c.Hold(HoldSpec{Action: "A", Stage: BeforeEffect, Timeout: 30 * time.Millisecond})
		start := time.Now()
		f, done := c.Enter("A")
		done()
		require.Equal(t, None, f)
		require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
		require.Equal(t, 1, h.Caught())
	})
	t.Run("reset releases", func(t *testing.T) {
		c := NewCore()
		h := c.Hold(HoldSpec{Action: "A", Stage: AfterEffect})
		_, finished := enterAsync(c, "A")
		require.NoError(t, h.Wait(waitCtx(t), 1))
		c.Reset()
		<-finished
	})
	t.Run("ReleaseHolds", func(t *testing.T) {
		c := NewCore()
		h1 := c.Hold(HoldSpec{Action: "A", Stage: BeforeEffect})
		h2 := c.Hold(HoldSpec{Action: "B", Stage: BeforeEffect})
		fa, _ := enterAsync(c, "A")
		fb, _ := enterAsync(c, "B")
		require.NoError(t, h1.Wait(waitCtx(t), 1))
		require.NoError(t, h2.Wait(waitCtx(t), 1))
		c.ReleaseHolds(Drop)
		require.Equal(t, Drop, <-fa)
		require.Equal(t, Drop, <-fb)
	})
	t.Run("Wait gives up with its context", func(t *testing.T) {
		c := NewCore()
		h := c.Hold(HoldSpec{Action: "A"})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := h.Wait(ctx, 1)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "before A caught 0 of 1")
	})
}
