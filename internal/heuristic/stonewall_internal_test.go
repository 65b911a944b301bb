package heuristic

import "testing"

// The Stonewall veto alone: the CoinJoin shapes rarely leave room for it
// (heuristic_test.go has the one that does), so its conditions are tested
// here one at a time.
func TestStonewall(t *testing.T) {
	in := func(n int) []Input {
		out := make([]Input, n)
		for i := range out {
			out[i] = Input{Value: 1e6, Script: string(rune('a' + i))}
		}
		return out
	}
	out := func(values ...uint64) []Output {
		o := make([]Output, len(values))
		for i, v := range values {
			o[i] = Output{Value: v, Script: string(rune('A' + i))}
		}
		return o
	}
	cases := []struct {
		name string
		tx   Tx
		want bool
	}{
		{"classic", Tx{in(2), out(500_000, 500_000, 300_000, 200_000)}, true},
		{"simplified", Tx{in(2), out(500_000, 500_000, 300_000)}, true},
		{"with an OP_RETURN", Tx{in(3), append(out(500_000, 500_000, 300_000), Output{NullData: true})}, true},
		{"one input", Tx{in(1), out(500_000, 500_000, 300_000, 200_000)}, false},
		{"one known input", Tx{append(in(1), Input{}), out(500_000, 500_000, 300_000, 200_000)}, false},
		{"two outputs", Tx{in(2), out(500_000, 500_000)}, false},
		{"five outputs", Tx{in(2), out(500_000, 500_000, 300_000, 200_000, 100_000)}, false},
		{"no pair", Tx{in(2), out(500_000, 400_000, 300_000, 200_000)}, false},
		{"two pairs", Tx{in(2), out(500_000, 500_000, 300_000, 300_000)}, false},
		{"a triple", Tx{in(2), out(500_000, 500_000, 500_000, 200_000)}, false},
		{"a dust pair", Tx{in(2), out(4_999, 4_999, 300_000, 200_000)}, false},
		{"a pair of 5,000 sat", Tx{in(2), out(5_000, 5_000, 300_000, 200_000)}, true},
		{"a repeated script", Tx{in(2), append(out(500_000, 500_000, 300_000), Output{Value: 200_000, Script: "A"})}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := newView(&c.tx).stonewall(); got != c.want {
				t.Fatalf("stonewall = %v, want %v", got, c.want)
			}
		})
	}
}
