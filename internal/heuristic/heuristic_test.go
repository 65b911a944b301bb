package heuristic_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cointrail/cointrail/internal/heuristic"
)

// ins returns n inputs of value each, from the distinct scripts in0, in1, ...
func ins(n int, value uint64) []heuristic.Input {
	out := make([]heuristic.Input, n)
	for i := range out {
		out[i] = heuristic.Input{Value: value, Script: fmt.Sprintf("in%d", i)}
	}
	return out
}

// outs returns outputs of the values, to the distinct scripts out0, out1, ...
func outs(values ...uint64) []heuristic.Output {
	out := make([]heuristic.Output, len(values))
	for i, v := range values {
		out[i] = heuristic.Output{Value: v, Script: fmt.Sprintf("out%d", i)}
	}
	return out
}

// rep returns n copies of v.
func rep(n int, v uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// vals concatenates value lists.
func vals(vs ...[]uint64) []uint64 { return slices.Concat(vs...) }

var opReturn = heuristic.Output{NullData: true}

// Base shapes; each returns a fresh transaction that the cases break one
// condition at a time.

// wasabi10 is a Wasabi 1.0 round: 10 inputs, 4 outputs of 0.1 BTC, 3
// changes and the coordinator fee.
func wasabi10() *heuristic.Tx {
	return &heuristic.Tx{
		Inputs:  ins(10, 12_345_678),
		Outputs: outs(vals(rep(4, heuristic.WasabiDenomination), []uint64{2_345_678, 3_456_789, 1_234_567, 123_457})...),
	}
}

// wasabi11 is a Wasabi 1.1 round with base d: 12 inputs, mixing levels d,
// 2d and 4d with 5, 3 and 2 outputs, 3 changes and the coordinator fee.
func wasabi11(d uint64) *heuristic.Tx {
	return &heuristic.Tx{
		Inputs:  ins(12, 30_000_000),
		Outputs: outs(vals(rep(5, d), rep(3, 2*d), rep(2, 4*d), []uint64{1_234_567, 2_345_678, 3_456_789, 234_567})...),
	}
}

// wasabi20 is a WabiSabi round: 20 inputs, denominations 2^20, 2,000,000
// and 3^12 sat, a change and the coordinator fee.
func wasabi20() *heuristic.Tx {
	return &heuristic.Tx{
		Inputs:  ins(20, 1_500_000),
		Outputs: outs(vals(rep(3, 1_048_576), rep(2, 2_000_000), rep(2, 531_441), []uint64{1_234_567, 777_777})...),
	}
}

// whirlpool is a mix of size n in pool d with the given new entrants
// (inputs of d plus a 5,000 sat premix margin); the others remix.
func whirlpool(d uint64, n, entrants int) *heuristic.Tx {
	tx := &heuristic.Tx{Inputs: ins(n, d), Outputs: outs(rep(n, d)...)}
	for i := range entrants {
		tx.Inputs[i].Value = d + 5_000
	}
	return tx
}

// tx0 is a Whirlpool Tx0 into the 0.01 BTC pool with n premix outputs, the
// coordinator fee, a change and the OP_RETURN.
func tx0(n int) *heuristic.Tx {
	tx := &heuristic.Tx{
		Inputs:  ins(1, uint64(n)*1_100_000),
		Outputs: outs(vals(rep(n, heuristic.WhirlpoolPool1M+5_000), []uint64{heuristic.WhirlpoolFee1M, 300_000})...),
	}
	tx.Outputs = append(tx.Outputs, opReturn)
	return tx
}

// joinMarket is a JoinMarket round: 3 participants with an input each, 3
// outputs of 0.025 BTC and two changes.
func joinMarket() *heuristic.Tx {
	return &heuristic.Tx{
		Inputs:  ins(3, 4_000_000),
		Outputs: outs(vals(rep(3, 2_500_000), []uint64{1_111_111, 2_222_222})...),
	}
}

// with applies f to tx and returns it.
func with(tx *heuristic.Tx, f func(*heuristic.Tx)) *heuristic.Tx {
	f(tx)
	return tx
}

func TestCoinJoin(t *testing.T) {
	const none heuristic.Kind = ""
	cases := []struct {
		name string
		tx   *heuristic.Tx
		want heuristic.Kind
	}{
		{"nil", nil, none},
		{"empty", &heuristic.Tx{}, none},

		// Wasabi 1.0. Broken, most rounds still have JoinMarket's shape,
		// which the Wasabi shapes refine.
		{"wasabi 1.0", wasabi10(), heuristic.Wasabi10},
		{"wasabi 1.0 denomination 5% off", with(wasabi10(), func(tx *heuristic.Tx) {
			for i := range 4 {
				tx.Outputs[i].Value = heuristic.WasabiDenomination + heuristic.WasabiTolerance
			}
		}), heuristic.Wasabi10},
		{"wasabi 1.0 denomination 6% off", with(wasabi10(), func(tx *heuristic.Tx) {
			for i := range 4 {
				tx.Outputs[i].Value = 10_600_000
			}
		}), heuristic.JoinMarket},
		{"wasabi 1.0 with 9 inputs", with(wasabi10(), func(tx *heuristic.Tx) { tx.Inputs = tx.Inputs[:9] }), heuristic.JoinMarket},
		{"wasabi 1.0 with 9 known inputs", with(wasabi10(), func(tx *heuristic.Tx) { tx.Inputs[9] = heuristic.Input{} }), heuristic.JoinMarket},
		{"wasabi 1.0 one input address holding 10%", wasabi10(), heuristic.Wasabi10},
		{"wasabi 1.0 one input address holding 20%", with(wasabi10(), func(tx *heuristic.Tx) {
			tx.Inputs[1].Script = tx.Inputs[0].Script
		}), heuristic.JoinMarket},
		{"wasabi 1.0 with 2 of the denomination", with(wasabi10(), func(tx *heuristic.Tx) {
			tx.Outputs[2].Value, tx.Outputs[3].Value = 7_000_001, 7_000_002
		}), none},
		{"wasabi 1.0 denomination under (outputs - 1) / 2", with(wasabi10(), func(tx *heuristic.Tx) {
			tx.Outputs = append(tx.Outputs, outs(1, 2)...)
			tx.Outputs[8].Script, tx.Outputs[9].Script = "extra1", "extra2"
		}), none},
		{"wasabi 1.0 repeated output script", with(wasabi10(), func(tx *heuristic.Tx) {
			tx.Outputs[1].Script = tx.Outputs[0].Script
		}), none},
		{"wasabi 1.0 an even split in a small round", with(wasabi10(), func(tx *heuristic.Tx) {
			tx.Outputs = outs(vals(rep(4, heuristic.WasabiDenomination), rep(2, 5_000_000))...)
		}), heuristic.JoinMarket},

		// Wasabi 1.1.
		{"wasabi 1.1", wasabi11(heuristic.WasabiDenomination), heuristic.Wasabi11},
		{"wasabi 1.1 base 3% under 0.1 BTC", wasabi11(9_700_000), heuristic.Wasabi11},
		{"wasabi 1.1 base 6% under 0.1 BTC", wasabi11(9_400_000), none},
		{"wasabi 1.1 with 9 inputs", with(wasabi11(heuristic.WasabiDenomination), func(tx *heuristic.Tx) { tx.Inputs = tx.Inputs[:9] }), none},
		{"wasabi 1.1 one input address holding 25%", with(wasabi11(heuristic.WasabiDenomination), func(tx *heuristic.Tx) {
			tx.Inputs[1].Script, tx.Inputs[2].Script = tx.Inputs[0].Script, tx.Inputs[0].Script
		}), none},
		{"wasabi 1.1 no level above the base", with(wasabi11(heuristic.WasabiDenomination), func(tx *heuristic.Tx) {
			for i := 5; i < 10; i++ {
				tx.Outputs[i].Value = 25_000_000 + uint64(i)
			}
		}), none},
		{"wasabi 1.1 busiest level under 3", with(wasabi11(heuristic.WasabiDenomination), func(tx *heuristic.Tx) {
			tx.Outputs = outs(vals(rep(2, 10_000_000), rep(2, 20_000_000), []uint64{1_234_567})...)
		}), none},
		{"wasabi 1.1 repeated output script", with(wasabi11(heuristic.WasabiDenomination), func(tx *heuristic.Tx) {
			tx.Outputs[13].Script = tx.Outputs[12].Script
		}), none},

		// Wasabi 2.0.
		{"wasabi 2.0", wasabi20(), heuristic.Wasabi20},
		{"wasabi 2.0 with 19 inputs", with(wasabi20(), func(tx *heuristic.Tx) { tx.Inputs = tx.Inputs[:19] }), none},
		{"wasabi 2.0 one input address holding 15%", with(wasabi20(), func(tx *heuristic.Tx) {
			tx.Inputs[1].Script, tx.Inputs[2].Script = tx.Inputs[0].Script, tx.Inputs[0].Script
		}), none},
		{"wasabi 2.0 an output of 4,999 sat", with(wasabi20(), func(tx *heuristic.Tx) { tx.Outputs[8].Value = 4_999 }), none},
		{"wasabi 2.0 an output of 5,000 sat", with(wasabi20(), func(tx *heuristic.Tx) { tx.Outputs[8].Value = 5_000 }), heuristic.Wasabi20},
		{"wasabi 2.0 two repeated values", with(wasabi20(), func(tx *heuristic.Tx) {
			tx.Outputs[5].Value, tx.Outputs[6].Value = 600_000, 700_000
		}), none},
		{"wasabi 2.0 repeated output script", with(wasabi20(), func(tx *heuristic.Tx) {
			tx.Outputs[1].Script = tx.Outputs[0].Script
		}), none},
		{"wasabi 2.0 without change or fee", with(wasabi20(), func(tx *heuristic.Tx) { tx.Outputs = tx.Outputs[:7] }), none},

		// Whirlpool.
		{"whirlpool 0.001", whirlpool(heuristic.WhirlpoolPool100k, 5, 2), heuristic.Whirlpool},
		{"whirlpool 0.01", whirlpool(heuristic.WhirlpoolPool1M, 5, 1), heuristic.Whirlpool},
		{"whirlpool 0.05", whirlpool(heuristic.WhirlpoolPool5M, 5, 3), heuristic.Whirlpool},
		{"whirlpool 0.5", whirlpool(heuristic.WhirlpoolPool50M, 5, 4), heuristic.Whirlpool},
		{"whirlpool surge 8x8", whirlpool(heuristic.WhirlpoolPool1M, 8, 4), heuristic.Whirlpool},
		{"whirlpool with 4 inputs", whirlpool(heuristic.WhirlpoolPool1M, 4, 2), none},
		{"whirlpool with 9 inputs", whirlpool(heuristic.WhirlpoolPool1M, 9, 2), none},
		{"whirlpool with a non-pool value", whirlpool(2_000_000, 5, 2), none},
		{"whirlpool with a repeated output script", with(whirlpool(heuristic.WhirlpoolPool1M, 5, 2), func(tx *heuristic.Tx) {
			tx.Outputs[1].Script = tx.Outputs[0].Script
		}), none},
		{"whirlpool with a repeated input script", with(whirlpool(heuristic.WhirlpoolPool1M, 5, 2), func(tx *heuristic.Tx) {
			tx.Inputs[1].Script = tx.Inputs[0].Script
		}), none},
		{"whirlpool with one output more", with(whirlpool(heuristic.WhirlpoolPool1M, 5, 2), func(tx *heuristic.Tx) {
			tx.Outputs = outs(rep(6, heuristic.WhirlpoolPool1M)...)
		}), none},
		{"whirlpool with an unknown input", with(whirlpool(heuristic.WhirlpoolPool1M, 6, 2), func(tx *heuristic.Tx) {
			tx.Inputs[5] = heuristic.Input{}
			tx.Outputs = tx.Outputs[:5]
		}), none},
		{"whirlpool entrant margin 110,001 sat", with(whirlpool(heuristic.WhirlpoolPool1M, 5, 2), func(tx *heuristic.Tx) {
			tx.Inputs[0].Value = heuristic.WhirlpoolPool1M + 110_001
		}), none},
		{"whirlpool without a new entrant", whirlpool(heuristic.WhirlpoolPool1M, 5, 0), none},
		{"whirlpool without a remixer", whirlpool(heuristic.WhirlpoolPool1M, 5, 5), none},

		// JoinMarket.
		{"joinmarket", joinMarket(), heuristic.JoinMarket},
		{"joinmarket n > distinct input scripts", with(joinMarket(), func(tx *heuristic.Tx) {
			tx.Inputs[1].Script = tx.Inputs[0].Script
		}), none},
		{"joinmarket n = 2", with(joinMarket(), func(tx *heuristic.Tx) { tx.Outputs = tx.Outputs[1:] }), none},
		{"joinmarket denomination of 2,730 sat", with(joinMarket(), func(tx *heuristic.Tx) {
			for i := range 3 {
				tx.Outputs[i].Value = heuristic.JoinMarketDust
			}
		}), none},
		{"joinmarket denomination of 2,731 sat", with(joinMarket(), func(tx *heuristic.Tx) {
			for i := range 3 {
				tx.Outputs[i].Value = heuristic.JoinMarketDust + 1
			}
		}), heuristic.JoinMarket},
		{"joinmarket n < outputs / 2", with(joinMarket(), func(tx *heuristic.Tx) {
			tx.Outputs = outs(vals(rep(3, 2_500_000), []uint64{1, 2, 3, 4})...)
		}), none},
		{"joinmarket without another output", with(joinMarket(), func(tx *heuristic.Tx) { tx.Outputs = tx.Outputs[:3] }), none},
		{"joinmarket repeated output script", with(joinMarket(), func(tx *heuristic.Tx) {
			tx.Outputs[4].Script = tx.Outputs[3].Script
		}), none},
		{"joinmarket 61 inputs for 3 participants", with(joinMarket(), func(tx *heuristic.Tx) {
			tx.Inputs = ins(61, 200_000)
			tx.Outputs = outs(vals(rep(3, 2_500_000), []uint64{1, 2, 3})...)
		}), none},
		{"joinmarket 60 inputs, 3 participants, 5 outputs", with(joinMarket(), func(tx *heuristic.Tx) { tx.Inputs = ins(60, 200_000) }), none},
		{"joinmarket 60 inputs for 4 participants", with(joinMarket(), func(tx *heuristic.Tx) {
			tx.Inputs = ins(60, 200_000)
			tx.Outputs = outs(vals(rep(4, 2_500_000), []uint64{1, 2, 3})...)
		}), heuristic.JoinMarket},

		// Vetoes.
		{"stonewall veto on a wasabi 1.1 shape", stonewallish(20_000_000), none},
		{"no stonewall without the pair", stonewallish(20_200_000), heuristic.Wasabi11},
		{"no stonewall with two pairs", with(stonewallish(20_000_000), func(tx *heuristic.Tx) { tx.Outputs[3].Value = 20_100_000 }), heuristic.Wasabi11},
		{"exchange veto on wasabi 1.0", with(wasabi10(), func(tx *heuristic.Tx) { tx.Inputs[3].Exchange = true }), none},
		{"exchange veto on whirlpool", with(whirlpool(heuristic.WhirlpoolPool1M, 5, 2), func(tx *heuristic.Tx) { tx.Inputs[0].Exchange = true }), none},
		{"exchange veto on joinmarket", with(joinMarket(), func(tx *heuristic.Tx) { tx.Inputs[2].Exchange = true }), none},
		{"exchange veto from an unknown input", with(wasabi20(), func(tx *heuristic.Tx) {
			tx.Inputs = append(tx.Inputs, heuristic.Input{Exchange: true})
		}), none},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, ok := heuristic.CoinJoin(c.tx)
			if k != c.want || ok != (c.want != none) {
				t.Fatalf("CoinJoin = %q, %v; want %q", k, ok, c.want)
			}
			if ok && !heuristic.IsCoinJoin(k) {
				t.Fatalf("IsCoinJoin(%q) = false", k)
			}
			got := heuristic.Classify(c.tx)
			if ok && (len(got) == 0 || got[0] != k) {
				t.Fatalf("Classify = %q, want %q first", got, k)
			}
		})
	}
}

// stonewallish is a round that Wasabi 1.1 accepts at level 1 (two 0.2 BTC
// outputs and one of v) with a change: with v = 0.2 BTC exactly one value
// occurs exactly twice among 4 outputs, Stonewall's shape.
func stonewallish(v uint64) *heuristic.Tx {
	return &heuristic.Tx{Inputs: ins(10, 7_000_000), Outputs: outs(20_000_000, 20_100_000, v, 3_333_333)}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		tx   *heuristic.Tx
		want []heuristic.Kind
	}{
		{"nil", nil, nil},
		{"payment with change", &heuristic.Tx{Inputs: ins(1, 5_000_000), Outputs: outs(3_000_000, 1_990_000)}, nil},
		{"wasabi 2.0", wasabi20(), []heuristic.Kind{heuristic.Wasabi20}},

		// Whirlpool Tx0.
		{"tx0", tx0(3), []heuristic.Kind{heuristic.WhirlpoolTx0}},
		{"tx0 with one premix output", tx0(1), []heuristic.Kind{heuristic.WhirlpoolTx0}},
		{"tx0 with 70 premix outputs is a fan-out too", tx0(70), []heuristic.Kind{heuristic.WhirlpoolTx0, heuristic.FanOut}},
		{"tx0 with 71 premix outputs", tx0(71), []heuristic.Kind{heuristic.FanOut}},
		{"tx0 with two OP_RETURNs", with(tx0(3), func(tx *heuristic.Tx) { tx.Outputs = append(tx.Outputs, opReturn) }), nil},
		{"tx0 without OP_RETURN", with(tx0(3), func(tx *heuristic.Tx) { tx.Outputs = tx.Outputs[:len(tx.Outputs)-1] }), nil},
		{"tx0 without coordinator fee", with(tx0(3), func(tx *heuristic.Tx) { tx.Outputs[3].Value = 24_999 }), nil},
		{"tx0 with a halved fee (coupon)", with(tx0(3), func(tx *heuristic.Tx) { tx.Outputs[3].Value = 25_000 }), []heuristic.Kind{heuristic.WhirlpoolTx0}},
		{"tx0 with a fee above 3 times", with(tx0(3), func(tx *heuristic.Tx) { tx.Outputs[3].Value = 150_001 }), nil},
		{"tx0 with premix equal to the pool", with(tx0(3), func(tx *heuristic.Tx) {
			for i := range 3 {
				tx.Outputs[i].Value = heuristic.WhirlpoolPool1M
			}
		}), nil},
		{"tx0 with three other outputs", with(tx0(3), func(tx *heuristic.Tx) {
			tx.Outputs = append(tx.Outputs, heuristic.Output{Value: 400_000, Script: "another"})
		}), nil},
		{"tx0 in the 0.5 BTC pool", &heuristic.Tx{
			Inputs:  ins(1, 120_000_000),
			Outputs: append(outs(50_100_000, 50_100_000, heuristic.WhirlpoolFee50M, 12_345_678), opReturn),
		}, []heuristic.Kind{heuristic.WhirlpoolTx0}},

		// Fan-outs.
		{"fan-out 1 to 11", &heuristic.Tx{Inputs: ins(1, 1e8), Outputs: outs(rep(11, 9e6)...)}, []heuristic.Kind{heuristic.FanOut}},
		{"fan-out 2 to 30", &heuristic.Tx{Inputs: ins(2, 1e8), Outputs: outs(rep(30, 6e6)...)}, []heuristic.Kind{heuristic.FanOut}},
		{"1 to 10", &heuristic.Tx{Inputs: ins(1, 1e8), Outputs: outs(rep(10, 9e6)...)}, nil},
		{"1 to 10 and an OP_RETURN", &heuristic.Tx{Inputs: ins(1, 1e8), Outputs: append(outs(rep(10, 9e6)...), opReturn)}, nil},
		{"3 to 30", &heuristic.Tx{Inputs: ins(3, 1e8), Outputs: outs(rep(30, 9e6)...)}, nil},

		// Consolidations.
		{"consolidation 2 to 1", &heuristic.Tx{Inputs: ins(2, 1e6), Outputs: outs(1_990_000)}, []heuristic.Kind{heuristic.Consolidation}},
		{"consolidation 40 to 1", &heuristic.Tx{Inputs: ins(40, 1e6), Outputs: outs(39_900_000)}, []heuristic.Kind{heuristic.Consolidation}},
		{"consolidation 5 to 2", &heuristic.Tx{Inputs: ins(5, 1e6), Outputs: outs(4_900_000, 50_000)}, []heuristic.Kind{heuristic.Consolidation}},
		{"5 to 2 split 60/40", &heuristic.Tx{Inputs: ins(5, 1e6), Outputs: outs(3_000_000, 1_950_000)}, nil},
		{"5 to 2 with an input over half", &heuristic.Tx{
			Inputs:  append(ins(2, 500_000), heuristic.Input{Value: 4_000_000, Script: "big"}),
			Outputs: outs(4_900_000, 50_000),
		}, nil},
		{"5 to 3", &heuristic.Tx{Inputs: ins(5, 1e6), Outputs: outs(4_800_000, 100_000, 50_000)}, nil},
		{"1 to 1", &heuristic.Tx{Inputs: ins(1, 1e6), Outputs: outs(990_000)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := heuristic.Classify(c.tx); !slices.Equal(got, c.want) {
				t.Fatalf("Classify = %q, want %q", got, c.want)
			}
		})
	}
}

func TestIsCoinJoin(t *testing.T) {
	for k, want := range map[heuristic.Kind]bool{
		heuristic.Wasabi10: true, heuristic.Wasabi11: true, heuristic.Wasabi20: true, heuristic.Whirlpool: true,
		heuristic.JoinMarket: true, heuristic.WhirlpoolTx0: false, heuristic.PeelChain: false, heuristic.FanOut: false,
		heuristic.Consolidation: false, "": false, "coinjoin-unknown": false,
	} {
		if got := heuristic.IsCoinJoin(k); got != want {
			t.Errorf("IsCoinJoin(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestPeelStep(t *testing.T) {
	one := ins(1, 10_000_000)
	cases := []struct {
		name   string
		tx     *heuristic.Tx
		change int
		ok     bool
	}{
		{"nil", nil, 0, false},
		{"change first", &heuristic.Tx{Inputs: one, Outputs: outs(9_000_000, 990_000)}, 0, true},
		{"change second", &heuristic.Tx{Inputs: one, Outputs: outs(500_000, 9_490_000)}, 1, true},
		{"smaller exactly 10%", &heuristic.Tx{Inputs: one, Outputs: outs(9_000_000, 1_000_000)}, 0, true},
		{"smaller just over 10%", &heuristic.Tx{Inputs: one, Outputs: outs(8_999_999, 1_000_001)}, 0, false},
		{"even split", &heuristic.Tx{Inputs: one, Outputs: outs(5_000_000, 4_990_000)}, 0, false},
		{"OP_RETURN between", &heuristic.Tx{Inputs: one, Outputs: []heuristic.Output{{Value: 9_000_000, Script: "a"}, opReturn, {Value: 500_000, Script: "b"}}}, 0, true},
		{"OP_RETURN first", &heuristic.Tx{Inputs: one, Outputs: []heuristic.Output{opReturn, {Value: 500_000, Script: "b"}, {Value: 9_000_000, Script: "a"}}}, 2, true},
		{"two inputs", &heuristic.Tx{Inputs: ins(2, 5_000_000), Outputs: outs(9_000_000, 990_000)}, 0, false},
		{"unknown input still one input", &heuristic.Tx{Inputs: []heuristic.Input{{}}, Outputs: outs(9_000_000, 990_000)}, 0, true},
		{"one output", &heuristic.Tx{Inputs: one, Outputs: outs(9_990_000)}, 0, false},
		{"one output and an OP_RETURN", &heuristic.Tx{Inputs: one, Outputs: []heuristic.Output{{Value: 9_990_000, Script: "a"}, opReturn}}, 0, false},
		{"three outputs", &heuristic.Tx{Inputs: one, Outputs: outs(9_000_000, 500_000, 490_000)}, 0, false},
		{"two zero outputs", &heuristic.Tx{Inputs: one, Outputs: outs(0, 0)}, 0, false},
		{"a zero output", &heuristic.Tx{Inputs: one, Outputs: outs(0, 9_990_000)}, 1, true},
		{"total beyond 64 bits", &heuristic.Tx{Inputs: one, Outputs: outs(math.MaxUint64, 1)}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			change, ok := heuristic.PeelStep(c.tx)
			if ok != c.ok || (ok && change != c.change) {
				t.Fatalf("PeelStep = %d, %v; want %d, %v", change, ok, c.change, c.ok)
			}
		})
	}
}
