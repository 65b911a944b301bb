package trace

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestHaircutConserves checks, on random transactions, that haircut's
// rounding conserves every base unit, never gives an output more than its
// value, and keeps each share within one unit of the exact T*w/V.
func TestHaircutConserves(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		n := 1 + rng.IntN(12)
		w := make([]uint64, n)
		var sumW uint64
		for j := range w {
			w[j] = rng.Uint64N(5_000_000_000_000) // up to 50,000 BTC
			sumW += w[j]
		}
		f := rng.Uint64N(100_000)
		v := sumW + f
		if v == 0 {
			continue
		}
		tt := rng.Uint64N(v + 1)
		out, fee := haircut(tt, v, w, f)
		sum := fee
		for j, a := range out {
			sum += a
			if a > w[j] {
				t.Fatalf("output %d gets %d of its value %d", j, a, w[j])
			}
			exact := new(big.Rat).SetFrac(new(big.Int).Mul(new(big.Int).SetUint64(tt), new(big.Int).SetUint64(w[j])), new(big.Int).SetUint64(v))
			diff := new(big.Rat).Sub(new(big.Rat).SetInt(new(big.Int).SetUint64(a)), exact)
			if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
				t.Fatalf("output %d: %d is a unit or more from %s", j, a, exact.FloatString(3))
			}
		}
		if sum != tt {
			t.Fatalf("taint %d split into %d (outputs %v, fee %d)", tt, sum, out, fee)
		}
	}
}

// TestLayoutSegments checks FIFO, LIFO and TIHO on a hand-made case and
// that on random inputs each output's segments add up to its value and
// the taint is conserved.
func TestLayoutSegments(t *testing.T) {
	in := []segs{{{30, 0}, {20, Clean}}, {{50, 1}}}
	w := []uint64{40, 45}
	// FIFO: [0:30][clean 20][1:50] over [40][45][fee 15]
	outs, fee := fifo(in, w)
	want := []segs{{{30, 0}, {10, Clean}}, {{10, Clean}, {35, 1}}}
	if !equalSegs(outs, want) || !equalSegs([]segs{fee}, []segs{{{15, 1}}}) {
		t.Errorf("fifo: %v fee %v", outs, fee)
	}
	// LIFO: [1:50][0:30][clean 20]
	outs, fee = lifo(in, w)
	want = []segs{{{40, 1}}, {{10, 1}, {30, 0}, {5, Clean}}}
	if !equalSegs(outs, want) || !equalSegs([]segs{fee}, []segs{{{15, Clean}}}) {
		t.Errorf("lifo: %v fee %v", outs, fee)
	}
	// TIHO: [0:30][1:50][clean 20] over the largest first: [45][40][fee]
	outs, fee = tiho(in, w)
	want = []segs{{{35, 1}, {5, Clean}}, {{30, 0}, {15, 1}}}
	if !equalSegs(outs, want) || !equalSegs([]segs{fee}, []segs{{{15, Clean}}}) {
		t.Errorf("tiho: %v fee %v", outs, fee)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for range 5_000 {
		var ins []segs
		var total, taint uint64
		for range 1 + rng.IntN(6) {
			var s segs
			for range 1 + rng.IntN(4) {
				g := Seg{Amount: 1 + rng.Uint64N(1000), Seed: int32(rng.IntN(3)) - 1}
				s = s.push(g)
				total += g.Amount
				if g.Seed != Clean {
					taint += g.Amount
				}
			}
			ins = append(ins, s)
		}
		var w []uint64
		left := total
		for left > 0 && len(w) < 8 {
			x := 1 + rng.Uint64N(left)
			w = append(w, x)
			left -= x
		}
		for _, split := range []func([]segs, []uint64) ([]segs, segs){fifo, lifo, tiho} {
			outs, fee := split(ins, w)
			got := fee.tainted()
			for j, o := range outs {
				var sum uint64
				for _, g := range o {
					sum += g.Amount
				}
				if sum != w[j] {
					t.Fatalf("output %d holds %d of its value %d", j, sum, w[j])
				}
				got += o.tainted()
			}
			if got != taint {
				t.Fatalf("taint %d laid out as %d", taint, got)
			}
		}
	}
}

func equalSegs(a, b []segs) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
