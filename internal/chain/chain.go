// Package chain is the chain-neutral model of the blockchains cointrail
// ingests: blocks, UTXO transactions (inputs with the outpoints they spend,
// outputs with value and script) and account transfers (from, to, asset,
// amount, kind), with every amount an exact integer in its asset's base
// unit. Sources (node RPC, block files) produce it; the chain index stores
// it; tracing walks it.
package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Model says how a chain keeps value.
type Model int

// The two models.
const (
	UTXO    Model = iota // value sits in unspent transaction outputs (Bitcoin)
	Account              // value sits in account balances (Ethereum)
)

func (m Model) String() string {
	if m == Account {
		return "account"
	}
	return "utxo"
}

// Info describes a chain cointrail knows.
type Info struct {
	// ID is the chain id, as DESIGN section 3 lists them.
	ID string
	// Model is UTXO or Account.
	Model Model
	// Symbol is the native asset's ticker; Decimals its base-unit exponent
	// (8 for BTC: 1 BTC = 10^8 satoshi; 18 for ETH).
	Symbol   string
	Decimals int
}

// chains are the chains DESIGN section 3 names.
var chains = map[string]Info{
	"bitcoin":          {"bitcoin", UTXO, "BTC", 8},
	"bitcoin-testnet":  {"bitcoin-testnet", UTXO, "BTC", 8},
	"bitcoin-regtest":  {"bitcoin-regtest", UTXO, "BTC", 8},
	"bitcoin-simnet":   {"bitcoin-simnet", UTXO, "BTC", 8},
	"bitcoin-cash":     {"bitcoin-cash", UTXO, "BCH", 8},
	"bitcoin-gold":     {"bitcoin-gold", UTXO, "BTG", 8},
	"bitcoin-sv":       {"bitcoin-sv", UTXO, "BSV", 8},
	"litecoin":         {"litecoin", UTXO, "LTC", 8},
	"dash":             {"dash", UTXO, "DASH", 8},
	"zcash":            {"zcash", UTXO, "ZEC", 8},
	"verge":            {"verge", UTXO, "XVG", 6},
	"monero":           {"monero", UTXO, "XMR", 12},
	"ethereum":         {"ethereum", Account, "ETH", 18},
	"ethereum-classic": {"ethereum-classic", Account, "ETC", 18},
	"arbitrum":         {"arbitrum", Account, "ETH", 18},
	"bsc":              {"bsc", Account, "BNB", 18},
	"tron":             {"tron", Account, "TRX", 6},
	"ripple":           {"ripple", Account, "XRP", 6},
	"nem":              {"nem", Account, "XEM", 6},
}

// Lookup returns what cointrail knows of chain id.
func Lookup(id string) (Info, bool) {
	i, ok := chains[id]
	return i, ok
}

// IDs lists the chain ids cointrail knows.
func IDs() []string {
	out := make([]string, 0, len(chains))
	for id := range chains {
		out = append(out, id)
	}
	return out
}

// NativeAsset returns the asset id of a chain's own coin: "bitcoin:BTC".
func NativeAsset(chainID string) string {
	if i, ok := chains[chainID]; ok {
		return chainID + ":" + i.Symbol
	}
	return chainID + ":" + strings.ToUpper(chainID)
}

// TokenAsset returns the asset id of a token contract: "ethereum:0xdac1...".
func TokenAsset(chainID, contract string) string {
	return chainID + ":" + strings.ToLower(contract)
}

// Block is one block of a chain.
type Block struct {
	Chain string
	// Height is the block's height, or -1 when it is not known (a block
	// read from a file without its ancestors, whose coinbase does not carry
	// its height).
	Height int64
	// Hash and Parent are the block's hash and its parent's, as the chain
	// displays them (Bitcoin: byte-reversed hex; Ethereum: 0x hex).
	Hash, Parent string
	Time         time.Time
	Txs          []Tx
}

// Tx is one transaction: inputs and outputs on a UTXO chain, transfers on
// an account chain.
type Tx struct {
	// Hash is the transaction id as the chain displays it.
	Hash string
	// Coinbase marks the transaction that creates a UTXO block's reward.
	Coinbase bool
	Inputs   []Input
	Outputs  []Output
	// Transfers are the value movements of an account-chain transaction,
	// its fee included.
	Transfers []Transfer
	// Failed marks an account-chain transaction that reverted: it moved no
	// value but its fee.
	Failed bool
	// FailureUnknown marks a transaction from before receipts carried a
	// status, whose outcome no call trace told.
	FailureUnknown bool
}

// Outpoint names an output: a transaction and the output's index in it.
type Outpoint struct {
	Tx    string
	Index uint32
}

func (o Outpoint) String() string { return fmt.Sprintf("%s:%d", o.Tx, o.Index) }

// ParseOutpoint parses "txid:index".
func ParseOutpoint(s string) (Outpoint, error) {
	tx, idx, ok := strings.Cut(s, ":")
	var n uint32
	if _, err := fmt.Sscanf(idx, "%d", &n); !ok || err != nil || tx == "" || fmt.Sprint(n) != idx {
		return Outpoint{}, fmt.Errorf("%q is not an outpoint (txid:index)", s)
	}
	return Outpoint{Tx: strings.ToLower(tx), Index: n}, nil
}

// Input spends an output. The chain does not carry the address and value
// of what an input spends: the index finds them from Prev.
type Input struct {
	Prev Outpoint
}

// Output is a transaction output.
type Output struct {
	Index uint32
	// Value is the amount in base units (satoshi).
	Value int64
	// Script is the output script.
	Script []byte
	// Kind is the script's standard form: "p2pk", "p2pkh", "p2sh",
	// "p2wpkh", "p2wsh", "p2tr", "multisig", "nulldata" or "nonstandard".
	Kind string
	// Address is the canonical address the output pays, "" for nulldata.
	// A P2PK output shows its P2PKH address; a multisig output the script
	// key; a non-standard one the script key.
	Address string
	// Key is what the index files the output under: the address, or
	// "script:<hex sha256 of the script>" for outputs without one and for
	// P2PK outputs (keyed by their script, shown with their P2PKH address);
	// "" for nulldata.
	Key string
}

// TransferKind says what moved value on an account chain.
type TransferKind string

// The kinds of transfers.
const (
	Native     TransferKind = "native"     // the transaction's own value
	Internal   TransferKind = "internal"   // a value-carrying internal call
	Token      TransferKind = "token"      // an ERC-20 Transfer log
	NFT        TransferKind = "nft"        // an ERC-721 Transfer log (Amount is 1, TokenID set)
	Fee        TransferKind = "fee"        // the tip to the block's fee recipient (or the whole fee before London)
	Burn       TransferKind = "burn"       // the base fee burned since London
	Withdrawal TransferKind = "withdrawal" // a consensus-layer withdrawal since Shanghai
	Reward     TransferKind = "reward"     // a block or uncle reward before the merge
)

// Transfer moves Amount of Asset from From to To.
type Transfer struct {
	From, To string
	Asset    string
	Amount   *big.Int
	Kind     TransferKind
	// TokenID is the token of an NFT transfer.
	TokenID *big.Int
}

// BurnAddress is the sink of burned base fees; RewardSource the source of
// minted rewards and withdrawals.
const (
	BurnAddress  = "burn"
	RewardSource = "mint"
)

// Source produces a chain's blocks.
type Source interface {
	// Chain returns the chain id of the blocks.
	Chain() string
	// Tip returns the height of the source's best block.
	Tip(ctx context.Context) (int64, error)
	// BlockAt returns the block at height on the source's best chain.
	BlockAt(ctx context.Context, height int64) (*Block, error)
}

// ErrNotFound reports a block or transaction the source or the index does
// not have.
var ErrNotFound = errors.New("chain: not found")
