package trace

import (
	"math"
	"math/bits"
	"sort"
)

// A Seg is a run of value in a lot or an output: Amount base units that
// came from seed Seed (Clean for value of no seed).
type Seg struct {
	Amount uint64
	Seed   int32
}

// Clean is the Seed of a segment that no seed fed.
const Clean int32 = -1

// segs is a list of segments, adjacent ones of the same seed merged.
type segs []Seg

func (s segs) tainted() uint64 {
	var t uint64
	for _, g := range s {
		if g.Seed != Clean {
			t += g.Amount
		}
	}
	return t
}

// push appends a segment, merging it into the last when they share a seed.
func (s segs) push(g Seg) segs {
	if g.Amount == 0 {
		return s
	}
	if n := len(s); n > 0 && s[n-1].Seed == g.Seed {
		s[n-1].Amount += g.Amount
		return s
	}
	return append(s, g)
}

// mulDiv returns a*b/c and the remainder, exactly (128-bit product). c
// must be > 0 and a*b/c must fit 64 bits (it does when a <= c).
func mulDiv(a, b, c uint64) (q, r uint64) {
	hi, lo := bits.Mul64(a, b)
	return bits.Div64(hi, lo, c)
}

// haircut splits taint t of a transaction whose inputs hold total value v
// over outputs of values w and the fee f (v = sum w + f when the inputs
// are known): output j gets t*w_j/v, the fee the rest. Rounding conserves
// every base unit: each share is rounded down, and the units left over go
// one each to the shares with the largest remainders (the earlier share on
// a tie; the fee counts as the last share). It returns the outputs'
// shares and the fee's.
//
// When the inputs are not all known (v < sum w), the known value still
// divides: v is taken as sum w + f with f = 0, so the outputs get it all.
func haircut(t, v uint64, w []uint64, f uint64) ([]uint64, uint64) {
	out := make([]uint64, len(w))
	var sumW uint64
	for _, x := range w {
		sumW += x
	}
	total := sumW + f
	if total == 0 || t == 0 {
		return out, 0
	}
	if t > total {
		t = total // taint never exceeds value
	}
	rem := make([]uint64, len(w)+1)
	var given uint64
	for j, x := range w {
		out[j], rem[j] = mulDiv(t, x, total)
		given += out[j]
	}
	fee, rf := mulDiv(t, f, total)
	rem[len(w)] = rf
	given += fee
	left := t - given // < len(w)+1
	if left > 0 {
		order := make([]int, len(rem))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
		for _, i := range order[:left] {
			if i == len(w) {
				fee++
			} else {
				out[i]++
			}
		}
	}
	return out, fee
}

// layout lays the input segments end to end over the outputs in the order
// given, then the fee: each output takes the segments it overlaps (FIFO:
// Clayton's case). order lists output indexes in the order they are
// filled; the result is indexed like w. Value beyond the inputs (unknown
// inputs) leaves the later outputs short; it is clean.
func layout(in []segs, w []uint64, order []int) (outs []segs, fee segs) {
	outs = make([]segs, len(w))
	i, k := 0, 0    // input, segment within it
	var used uint64 // of the current segment
	take := func(want uint64) segs {
		var got segs
		for want > 0 && i < len(in) {
			if k >= len(in[i]) {
				i, k, used = i+1, 0, 0
				continue
			}
			g := in[i][k]
			n := min(g.Amount-used, want)
			got = got.push(Seg{Amount: n, Seed: g.Seed})
			want -= n
			used += n
			if used == g.Amount {
				k, used = k+1, 0
			}
		}
		return got
	}
	for _, j := range order {
		outs[j] = take(w[j])
	}
	// The fee is whatever the inputs hold beyond the outputs.
	fee = take(math.MaxUint64)
	return outs, fee
}

// fifo, lifo and tiho split input segments over outputs of values w.
func fifo(in []segs, w []uint64) ([]segs, segs) {
	return layout(in, w, seqOrder(len(w)))
}

// lifo lays the inputs out in reverse order.
func lifo(in []segs, w []uint64) ([]segs, segs) {
	rev := make([]segs, len(in))
	for i, s := range in {
		rev[len(in)-1-i] = s
	}
	return layout(rev, w, seqOrder(len(w)))
}

// tiho (taint in, highest out) puts the tainted segments of every input
// first, in input order, then the clean value, and fills the largest
// outputs first (the earlier output on a tie).
func tiho(in []segs, w []uint64) ([]segs, segs) {
	var taint, clean segs
	for _, s := range in {
		for _, g := range s {
			if g.Seed == Clean {
				clean = clean.push(g)
			} else {
				taint = taint.push(g)
			}
		}
	}
	order := seqOrder(len(w))
	sort.SliceStable(order, func(a, b int) bool { return w[order[a]] > w[order[b]] })
	return layout([]segs{append(taint, clean...)}, w, order)
}

func seqOrder(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = i
	}
	return o
}
