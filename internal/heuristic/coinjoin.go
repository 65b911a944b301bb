package heuristic

// The CoinJoin detectors, the Tx0 detector and the Stonewall veto, each
// after the GraphSense function it names (heuristics_service.py, see
// constants.go), with DESIGN section 6's thresholds.

// whirlpoolPools lists the pool sizes with their coordinator fees.
var whirlpoolPools = [...]struct{ size, fee uint64 }{
	{WhirlpoolPool100k, WhirlpoolFee100k},
	{WhirlpoolPool1M, WhirlpoolFee1M},
	{WhirlpoolPool5M, WhirlpoolFee5M},
	{WhirlpoolPool50M, WhirlpoolFee50M},
}

// isWhirlpoolPool reports whether d is a pool size.
func isWhirlpoolPool(d uint64) bool {
	for _, p := range whirlpoolPools {
		if p.size == d {
			return true
		}
	}
	return false
}

// premixMargin reports whether x is pool size d plus a premix margin.
func premixMargin(x, d uint64) bool {
	return x > d && x-d >= WhirlpoolPremixMinMargin && x-d <= WhirlpoolPremixMaxMargin
}

// whirlpool is _whirlpool_coinjoin_heuristic: 5 to 8 inputs and as many
// outputs, all scripts distinct, every output the pool size, every input
// the pool size (a remixer) or the pool size plus a premix margin (a new
// entrant), and 1 to 4 new entrants. An input whose spent output is
// unknown fails it, since the pairing of inputs and outputs is the shape.
func (v *view) whirlpool() bool {
	n := len(v.ins)
	if n < WhirlpoolMinInputs || n > WhirlpoolMaxInputs || n != len(v.tx.Inputs) || len(v.outs) != n {
		return false
	}
	if v.inScripts != n || !v.outScriptsDistinct() || len(v.values) != 1 || !isWhirlpoolPool(v.values[0]) {
		return false
	}
	d := v.values[0]
	entrants := 0
	for _, in := range v.ins {
		switch {
		case in.Value == d:
		case premixMargin(in.Value, d):
			entrants++
		default:
			return false
		}
	}
	return entrants >= WhirlpoolMinNewEntrants && entrants <= WhirlpoolMaxNewEntrants
}

// whirlpoolTx0 is _whirlpool_tx0_heuristic: exactly one OP_RETURN, and for
// some pool: 1 to 70 premix outputs of one value (the most frequent value
// that is the pool size plus a premix margin), at most a fee and a change
// besides, and exactly one output in the coordinator fee's range.
func (v *view) whirlpoolTx0() bool {
	if v.nullData != WhirlpoolTx0NullData || len(v.outs) < 2 {
		return false
	}
	for _, p := range whirlpoolPools {
		_, n := v.mode(func(x uint64) bool { return premixMargin(x, p.size) }, true)
		if n < WhirlpoolTx0MinPremix || n > WhirlpoolTx0MaxPremix || n+WhirlpoolTx0MaxOthers < len(v.outs) {
			continue
		}
		lo := (p.fee + WhirlpoolTx0FeeMinDivisor - 1) / WhirlpoolTx0FeeMinDivisor
		hi := p.fee * WhirlpoolTx0FeeMaxMultiple
		fees := 0
		for _, o := range v.outs {
			if o.Value >= lo && o.Value <= hi {
				fees++
			}
		}
		if fees == 1 {
			return true
		}
	}
	return false
}

// wasabi20 is _wasabi_20_heuristic: 20 or more inputs, no input address
// holding more than 10% of them, every output 5,000 sat or more, all
// output scripts distinct, 3 or more values that occur twice or more
// (denominations), the denomination outputs at least (outputs - 1) / 2 of
// the outputs but not all of them (a coordinator fee or a change remains;
// an N-way payout has none).
func (v *view) wasabi20() bool {
	if len(v.ins) < Wasabi20MinInputs || v.inputAddressTooBig(Wasabi20MaxInputAddressPercent) || !v.outScriptsDistinct() {
		return false
	}
	denoms, inDenoms := 0, 0
	for _, x := range v.values {
		if x < Wasabi20MinOutput {
			return false
		}
		if c := v.counts[x]; c >= Wasabi20MinDenominationCount {
			denoms++
			inDenoms += c
		}
	}
	return denoms >= Wasabi20MinDenominations && 2*inDenoms >= len(v.outs)-1 && inDenoms < len(v.outs)
}

// wasabi1Inputs holds the input conditions of Wasabi 1.x: 10 or more
// inputs, no input address holding more than 10% of them.
func (v *view) wasabi1Inputs() bool {
	return len(v.ins) >= Wasabi1MinInputs && !v.inputAddressTooBig(Wasabi1MaxInputAddressPercent)
}

// wasabi1Bounds holds the participant bounds of Wasabi 1.x with n
// participants: n to 7n distinct input addresses, all output scripts
// distinct, and no N-way split in a small round.
func (v *view) wasabi1Bounds(n int) bool {
	return n <= v.inScripts && v.inScripts <= Wasabi1MaxInputsPerParticipant*n && v.outScriptsDistinct() && !v.evenSplit()
}

// wasabi10 is _wasabi_10_heuristic with DESIGN's wording: the most
// frequent output value within 5% of 0.1 BTC occurs n times, n >= 3 and
// n >= (outputs - 1) / 2 (one output is the coordinator fee), on top of
// the input conditions and bounds of 1.x.
func (v *view) wasabi10() bool {
	if !v.wasabi1Inputs() {
		return false
	}
	_, n := v.mode(func(x uint64) bool { return within(x, WasabiDenomination, WasabiTolerance) }, false)
	return n >= Wasabi1MinParticipants && 2*n >= len(v.outs)-1 && v.wasabi1Bounds(n)
}

// wasabi11 is _wasabi_11_heuristic: mixing level i is 2^i times the base
// denomination, within 2^i times the tolerance, and is active with two or
// more outputs; the busiest level counts n >= 3 participants; the
// outputs at active levels are at least (outputs - 1) / 2 of them, or at
// least outputs - input addresses - 1 (the paper's sum condition); on top
// of the input conditions and bounds of 1.x. GraphSense calls a round
// whose only active level is the base one 1.0; so does this package, by
// leaving it to wasabi10.
func (v *view) wasabi11() bool {
	if !v.wasabi1Inputs() || len(v.outs) == 0 {
		return false
	}
	n, postmix, above := 0, 0, false
	d, tol := uint64(WasabiDenomination), uint64(WasabiTolerance)
	for level := 0; d <= v.maxOut; level++ {
		c := 0
		for _, x := range v.values {
			if within(x, d, tol) {
				c += v.counts[x]
			}
		}
		if c >= Wasabi11MinLevelCount {
			n, postmix = max(n, c), postmix+c
			above = above || level > 0
		}
		if d > ^uint64(0)/2 {
			break
		}
		d, tol = 2*d, 2*tol
	}
	if !above || n < Wasabi1MinParticipants {
		return false
	}
	if 2*postmix < len(v.outs)-1 && postmix+v.inScripts+1 < len(v.outs) {
		return false
	}
	return v.wasabi1Bounds(n)
}

// evenSplit is GraphSense's small-round gate for Wasabi 1.x: a round of
// fewer than 20 inputs whose outputs total a whole multiple of their most
// frequent value, to within 1/10,000, splits a payment N ways. Outputs
// whose total overflows count as a split: no chain has that much.
func (v *view) evenSplit() bool {
	if len(v.ins) >= Wasabi1SmallRound {
		return false
	}
	total, ok := sum(v.outs)
	if !ok {
		return true
	}
	mf, _ := v.mode(nil, false)
	if total == 0 || mf == 0 {
		return false
	}
	q, r := total/mf, total%mf
	if r >= mf-r { // round half up to the nearest multiple
		q, r = q+1, mf-r
	}
	return q > 0 && !mulLess(total, 1, r, Wasabi1SplitResidualDivisor)
}

// joinMarket is _joinmarket_heuristic: the most frequent output value
// above 2,730 sat occurs n times, n >= outputs / 2, 3 <= n <= distinct
// input addresses, all output scripts distinct, at least one other output;
// and in a round of 50 or more inputs, at most 20 inputs and at least 1.7
// outputs per participant.
func (v *view) joinMarket() bool {
	if len(v.ins) == 0 {
		return false
	}
	d, n := v.mode(func(x uint64) bool { return x > JoinMarketDust }, false)
	if n < JoinMarketMinParticipants || 2*n < len(v.outs) || n > v.inScripts || !v.outScriptsDistinct() || v.counts[d] == len(v.outs) {
		return false
	}
	if len(v.ins) >= JoinMarketLargeRound {
		if len(v.ins) > JoinMarketMaxInputsPerParticipant*n || 10*len(v.outs) < JoinMarketMinOutputsPerTenParticipants*n {
			return false
		}
	}
	return true
}

// stonewall is _is_stonewall: 3 or 4 outputs, 2 or more inputs, all output
// scripts distinct, exactly one value occurring exactly twice, and that
// value not dust. (GraphSense also checks that a 4-output Stonewall's two
// other values differ; with exactly one pair they always do.)
func (v *view) stonewall() bool {
	if len(v.outs) < StonewallMinOutputs || len(v.outs) > StonewallMaxOutputs || len(v.ins) < StonewallMinInputs || !v.outScriptsDistinct() {
		return false
	}
	pairs, d := 0, uint64(0)
	for _, x := range v.values {
		if v.counts[x] == 2 {
			pairs, d = pairs+1, x
		}
	}
	return pairs == 1 && d >= StonewallMinDenomination
}
