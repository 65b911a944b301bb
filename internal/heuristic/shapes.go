package heuristic

import "math/bits"

// fanOut reports one or two inputs to more than ten outputs (OP_RETURN
// aside). Every input counts, known or not: the shape is the count.
func (v *view) fanOut() bool {
	n := len(v.tx.Inputs)
	return n >= 1 && n <= FanOutMaxInputs && len(v.outs) >= FanOutMinOutputs
}

// consolidation is BlockSci's getConsolidationType: two or more inputs to
// one output (Certain), or to two outputs where no input exceeds half the
// outputs' total and the larger output exceeds 90% of it (Possible).
// Inputs of unknown value (0) exceed nothing.
func (v *view) consolidation() bool {
	if len(v.tx.Inputs) < ConsolidationMinInputs || len(v.outs) == 0 || len(v.outs) > ConsolidationMaxOutputs {
		return false
	}
	if len(v.outs) == 1 {
		return true
	}
	total, ok := sum(v.outs)
	if !ok {
		return false
	}
	for _, in := range v.tx.Inputs {
		if mulLess(total, ConsolidationMaxInputPercent, in.Value, 100) {
			return false
		}
	}
	return mulLess(total, ConsolidationMainOutputPercent, v.maxOut, 100)
}

// sum returns the total value of outs, and false when it overflows 64
// bits (no chain has that much: the input is not a real transaction).
func sum(outs []Output) (uint64, bool) {
	var t, carry uint64
	for _, o := range outs {
		t, carry = bits.Add64(t, o.Value, 0)
		if carry != 0 {
			return 0, false
		}
	}
	return t, true
}

// mulLess reports whether a*x < b*y, exactly (128-bit products), so that
// a share such as "at most 10% of the total" is tested without floats or
// overflow.
func mulLess(a, x, b, y uint64) bool {
	ah, al := bits.Mul64(a, x)
	bh, bl := bits.Mul64(b, y)
	return ah < bh || (ah == bh && al < bl)
}
