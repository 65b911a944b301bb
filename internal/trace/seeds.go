package trace

import (
	"encoding/hex"
	"math/big"
	"strings"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

// ParseFrom returns the seeds a list of outputs and transactions names
// on chainID: "TXID:VOUT" is an output (UTXO chains), a bare TXID every
// output (transfer) of a transaction. Each seed taints amount (nil: all
// of it); asset names what a transaction seed traces on an account chain
// ("": the chain's own coin). Errors are [fault.Malformed]: an unknown
// chain, an empty item, a hash that is not 32 bytes of hex, or an output
// that is not TXID:VOUT.
func ParseFrom(chainID string, from []string, amount *big.Int, asset string) ([]Seed, error) {
	info, ok := chain.Lookup(chainID)
	if !ok {
		return nil, fault.New(fault.Malformed, "%q is not a chain cointrail knows", chainID)
	}
	seeds := make([]Seed, 0, len(from))
	for _, f := range from {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			return nil, fault.New(fault.Malformed, "an empty seed (want TXID:VOUT or TXID)")
		case info.Model == chain.UTXO && strings.Contains(f, ":"):
			op, err := chain.ParseOutpoint(f)
			if err != nil {
				return nil, fault.New(fault.Malformed, "%v", err)
			}
			if !isHash(op.Tx) {
				return nil, fault.New(fault.Malformed, "%q is not an outpoint: %q is not 32 bytes of hex", f, op.Tx)
			}
			seeds = append(seeds, Seed{Kind: SeedOutput, Output: f, Amount: Amount{Int: amount}})
		case !isHash(f):
			return nil, fault.New(fault.Malformed, "%q is not a transaction hash (32 bytes of hex) nor an output (TXID:VOUT)", f)
		default:
			seeds = append(seeds, Seed{Kind: SeedTx, Tx: f, Amount: Amount{Int: amount}, Asset: asset})
		}
	}
	return seeds, nil
}

// isHash reports whether s is a transaction hash as the chain index
// keeps them: 32 bytes of hex, with or without "0x".
func isHash(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
