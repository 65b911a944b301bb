// Package ethereum reads Ethereum-family chains into cointrail's chain
// model: [RPC] is a [chain.Source] over a node's JSON-RPC API, and
// [Assemble] turns the JSON-RPC results of one block into a [chain.Block]
// whose transactions carry every value movement as a [chain.Transfer]:
//
//   - Native: the transaction's value, from sender to recipient (for a
//     contract creation, to the created contract). None for a failed
//     transaction.
//   - Internal: value sent by contract code (CALL, CREATE, CREATE2,
//     SELFDESTRUCT frames of the node's callTracer trace). Frames that
//     reverted are skipped with everything under them; DELEGATECALL,
//     STATICCALL and CALLCODE move no value (CALLCODE's value stays with
//     the caller) but their subcalls are walked.
//   - Token and NFT: ERC-20 and ERC-721 Transfer logs of successful
//     transactions; the asset is [chain.TokenAsset] of the emitting
//     contract. A mint comes from, and a burn goes to, the zero address
//     0x0000000000000000000000000000000000000000, as the logs say.
//   - Burn and Fee: gasUsed × effective gas price, paid by the sender
//     whether or not the transaction failed. Since London the base fee
//     part goes to [chain.BurnAddress] and the tip to the block's fee
//     recipient (its miner field); before London all of it goes to the
//     miner. Since Cancun a blob transaction's blob gas fee is burned too.
//   - Withdrawal: consensus-layer withdrawals since Shanghai, from
//     [chain.RewardSource], in a pseudo-transaction whose Hash is the block
//     hash + ":withdrawals".
//   - Reward: block, nephew and uncle rewards before the merge, from
//     [chain.RewardSource], in a pseudo-transaction whose Hash is the block
//     hash + ":rewards". The schedule is per chain ([Rules]).
//
// A transaction's outcome comes from its receipt's status since Byzantium.
// Before, receipts carry a state root instead: the call trace's top-level
// error tells, and without a trace so do two rules of the pre-Byzantium EVM,
// which had no REVERT: a failure consumed all the gas offered and left no
// logs. A transaction that used less gas than it offered, or left logs,
// succeeded; one that used it all and left none is marked FailureUnknown,
// its value shown as moved.
//
// Pseudo-transactions follow the block's real transactions, withdrawals
// first. Amounts are exact (math/big) in wei or in the token's base unit.
// Zero amounts are left out, except for Token transfers: a zero-value
// token transfer is an event of its own (address poisoning sends them).
// Addresses are lower-case 0x hex, as package address canonicalises them.
//
// What the JSON-RPC API cannot show is not made up: genesis allocations
// and irregular state changes (the DAO fork) are not transfers of any
// block; internal transfers need the debug API ([Block.Traced] says whether
// they are known); and the fee model is Ethereum's, which chains such as
// Arbitrum and BSC only approximate.
package ethereum

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/cointrail/cointrail/internal/chain"
)

// Block is a block as this package read it: the chain-neutral block and
// what the node could not tell about it.
type Block struct {
	chain.Block
	// Traced is true when the internal transfers of every transaction are
	// known: each transaction's call trace was read whole. It is true for
	// a block without transactions.
	Traced bool
	// TraceError says why Traced is false: [ErrNoDebugAPI] or
	// [ErrTracingOff] wrapped, the node's error for this block's trace, or
	// the transactions whose trace failed or lacked a value. Transactions
	// whose trace was read still carry their internal transfers.
	TraceError error
}

// Rules are what an Ethereum-family chain's blocks do not show about
// value and [Assemble] needs: the block reward schedule. London (base fee
// burn), Shanghai (withdrawals) and Byzantium (receipt status) are read
// from the blocks and receipts themselves.
//
// A Rules value must not be modified once in use.
type Rules struct {
	// Rewards is the block reward schedule: eras ordered by From. A block
	// is paid the Reward of the last era whose From is at most its height;
	// a nil or zero Reward, or no era, pays nothing. The genesis block and
	// any block of difficulty 0 (proof of stake) are never paid.
	//
	// The miner of a paid block also gets Reward/32 per uncle it includes,
	// and each uncle's miner (8 + uncle height − block height) × Reward/8,
	// as on Ethereum since Frontier. Default: no rewards.
	Rewards []RewardEra
}

// RewardEra is the block reward from height From on, in wei.
type RewardEra struct {
	From   int64
	Reward *big.Int
}

// ether returns n ether in wei.
func ether(n int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18))
}

// MainnetRules returns the rules of Ethereum mainnet: 5 ETH per block
// from Frontier, 3 ETH from Byzantium (block 4,370,000), 2 ETH from
// Constantinople (block 7,280,000), nothing from the merge (block
// 15,537,394, the first proof-of-stake block).
func MainnetRules() Rules {
	return Rules{Rewards: []RewardEra{
		{From: 0, Reward: ether(5)},
		{From: 4_370_000, Reward: ether(3)},
		{From: 7_280_000, Reward: ether(2)},
		{From: 15_537_394},
	}}
}

// RulesFor returns the built-in rules of a chain: [MainnetRules] for
// "ethereum", no rewards for every other chain. Ethereum Classic's
// ECIP-1017 schedule and other chains' rewards must be given in
// [RPCOptions.Rules] or to [Assemble].
func RulesFor(chainID string) Rules {
	if chainID == "ethereum" {
		return MainnetRules()
	}
	return Rules{}
}

// Validate reports every problem of the schedule in one error.
func (r Rules) Validate() error {
	var errs []error
	for i, e := range r.Rewards {
		if e.From < 0 {
			errs = append(errs, fmt.Errorf("rewards[%d]: negative height %d", i, e.From))
		}
		if i > 0 && e.From <= r.Rewards[i-1].From {
			errs = append(errs, fmt.Errorf("rewards[%d]: height %d does not follow %d", i, e.From, r.Rewards[i-1].From))
		}
		if e.Reward != nil && e.Reward.Sign() < 0 {
			errs = append(errs, fmt.Errorf("rewards[%d]: negative reward %s", i, e.Reward))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ethereum: rules: %w", errors.Join(errs...))
	}
	return nil
}

// reward returns the block reward at height, or nil when none is paid.
func (r Rules) reward(height int64) *big.Int {
	if height <= 0 {
		return nil
	}
	i, found := slices.BinarySearchFunc(r.Rewards, height, func(e RewardEra, h int64) int {
		switch {
		case e.From < h:
			return -1
		case e.From > h:
			return 1
		}
		return 0
	})
	if !found {
		i--
	}
	if i < 0 || r.Rewards[i].Reward == nil || r.Rewards[i].Reward.Sign() <= 0 {
		return nil
	}
	return r.Rewards[i].Reward
}

// paysReward reports the reward b earns under r, or nil.
func (r Rules) paysReward(b *block) *big.Int {
	if b.difficulty != nil && b.difficulty.Sign() == 0 {
		return nil
	}
	return r.reward(b.number)
}

// BlockData holds the JSON-RPC results that make up one block.
type BlockData struct {
	// Block is the eth_getBlockByNumber(n, true) result.
	Block json.RawMessage
	// Receipts is a JSON array of the block's receipts in transaction
	// order: the eth_getBlockReceipts result, or the
	// eth_getTransactionReceipt results put together. Not needed for a
	// block without transactions.
	Receipts json.RawMessage
	// Traces is the debug_traceBlockByNumber(n, {"tracer": "callTracer"})
	// result, or nil when there is none: internal transfers are then
	// unknown and the Block says so.
	Traces json.RawMessage
	// Uncles are the eth_getUncleByBlockNumberAndIndex results, in the
	// order of the block's uncles. Needed only when the block earns a
	// reward.
	Uncles []json.RawMessage
}

// Assemble builds the block of chain chainID from its JSON-RPC results
// under rules. It checks that the pieces belong together (receipts and
// traces of the block's own transactions, in order; the uncles the block
// names) and returns an error wrapping [ErrMalformed] for anything a node
// would not send, or [ErrInconsistent] for pieces of different blocks.
// Without d.Traces the block's TraceError is [ErrNoDebugAPI]. It is safe
// for concurrent use.
func Assemble(chainID string, rules Rules, d BlockData) (*Block, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	b, err := decodeBlock(d.Block)
	if err != nil {
		return nil, fmt.Errorf("ethereum: %w", err)
	}
	var rs []receipt
	if len(b.txs) > 0 || !isNull(d.Receipts) {
		if rs, err = decodeReceipts(d.Receipts); err != nil {
			return nil, fmt.Errorf("ethereum: block %d: %w", b.number, err)
		}
	}
	var ts []trace
	traceErr := ErrNoDebugAPI
	if !isNull(d.Traces) {
		if ts, err = decodeTraces(d.Traces); err != nil {
			return nil, fmt.Errorf("ethereum: block %d: %w", b.number, err)
		}
		traceErr = nil
	}
	var us []uncle
	if rules.paysReward(b) != nil {
		for i, raw := range d.Uncles {
			u, err := decodeUncle(raw)
			if err != nil {
				return nil, fmt.Errorf("ethereum: block %d: uncle %d: %w", b.number, i, err)
			}
			us = append(us, *u)
		}
	}
	out, err := assemble(chainID, rules, b, rs, ts, traceErr, us)
	if err != nil {
		return nil, fmt.Errorf("ethereum: %w", err)
	}
	return out, nil
}
