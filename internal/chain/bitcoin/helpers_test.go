package bitcoin_test

import (
	"encoding/json"
	"math/big"
	"testing"
)

// satoshi converts a BTC amount as a node writes it in JSON (a decimal
// such as 50.0 or 12.34567891) to satoshi, exactly: the decimal is read as
// a rational number, never as a float.
func satoshi(tb testing.TB, n json.Number) int64 {
	tb.Helper()
	r, ok := new(big.Rat).SetString(n.String())
	if !ok {
		tb.Fatalf("amount %q is not a decimal", n)
	}
	r.Mul(r, big.NewRat(100_000_000, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		tb.Fatalf("amount %q is not a whole number of satoshi", n)
	}
	return r.Num().Int64()
}
