package main

import (
	"fmt"
	"math"
	"strings"
)

// renderPlot draws the bulk case as an SVG line chart: the IAM users left
// on each engine's account over time since `vault lease revoke -prefix`,
// with the floor (calls needed / rate) as a dashed line. Without a bulk
// case it draws a note saying so.
func renderPlot(bk *bulkResult) string {
	const (
		w, h                     = 760, 380
		left, right, top, bottom = 64, 150, 40, 52
	)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	if bk == nil || len(bk.Ours.Series) == 0 {
		b.WriteString(`<text x="20" y="40">No bulk case in this run.</text></svg>` + "\n")
		return b.String()
	}
	maxT := bk.FloorS * 1.1
	for _, s := range [][]bulkPoint{bk.Ours.Series, bk.Builtin.Series} {
		if len(s) > 0 {
			maxT = math.Max(maxT, s[len(s)-1].TS)
		}
	}
	maxY := float64(bk.Leases)
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	x := func(t float64) float64 { return float64(left) + t/maxT*pw }
	y := func(v float64) float64 { return float64(top) + (1-v/maxY)*ph }

	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14" font-weight="bold">IAM users left after vault lease revoke -prefix of %d leases, %g requests/s account limit</text>`+"\n", left, bk.Leases, bk.RateLimitRPS)
	// Axes, ticks and grid.
	xStep := niceStep(maxT, 8)
	for t := 0.0; t <= maxT+1e-9; t += xStep {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/>`+"\n", x(t), top, x(t), h-bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n", x(t), h-bottom+16, t)
	}
	yStep := niceStep(maxY, 5)
	for v := 0.0; v <= maxY+1e-9; v += yStep {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>`+"\n", left, y(v), w-right, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n", left-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, h-bottom)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">seconds since that engine's revoke -prefix (run one after the other)</text>`+"\n", float64(left)+pw/2, h-12)
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">IAM users left</text>`+"\n", float64(top)+ph/2, float64(top)+ph/2)
	// The floor.
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#555" stroke-dasharray="5,4"/>`+"\n", x(bk.FloorS), top, x(bk.FloorS), h-bottom)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#555">floor %.0f s</text>`+"\n", x(bk.FloorS)+4, top+12, bk.FloorS)
	// The series.
	for _, s := range []struct {
		color string
		side  bulkSide
	}{{"#1f77b4", bk.Ours}, {"#d62728", bk.Builtin}} {
		var pts []string
		for _, p := range s.side.Series {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.TS), y(float64(p.Left))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", s.color, strings.Join(pts, " "))
	}
	// Legend.
	for i, s := range []struct {
		name, color string
		side        bulkSide
	}{{"multicloud", "#1f77b4", bk.Ours}, {"builtin", "#d62728", bk.Builtin}} {
		ly := top + 10 + i*40
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", w-right+12, ly, w-right+32, ly, s.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", w-right+38, ly+4, s.name)
		what := fmt.Sprintf("empty at %.0f s", s.side.EmptyS)
		if !s.side.Reached {
			what = fmt.Sprintf("%d left at %.0f s", s.side.UsersLeft, s.side.EmptyS)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#444">%s</text>`+"\n", w-right+38, ly+19, what)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceStep is a round tick step (1, 2 or 5 × 10^k) giving about n ticks
// over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}
