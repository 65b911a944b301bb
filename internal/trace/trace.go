// Package trace follows value from seeds (stolen outputs, or an address's
// funds) forward through a chain's dense graph under one taint model, to
// the labelled services where it lands, as DESIGN section 6 defines:
// poison, haircut, FIFO, LIFO and TIHO, on UTXO chains and on account
// chains. A trace stops at labelled services (the endpoints), and at a hop
// limit, below a dust threshold, outside a block window and at unspent
// outputs (the stops, listed apart with their reasons); it annotates what
// it passes (peel chains, CoinJoins, fan-outs, consolidations).
package trace

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Model is a taint model.
type Model string

// The models of DESIGN section 6.
const (
	// Poison taints every output of a transaction with any tainted input,
	// wholly. It explodes: useful a few hops deep.
	Poison Model = "poison"
	// Haircut gives each output the share of the taint its value is of the
	// transaction's; the fee gets the rest.
	Haircut Model = "haircut"
	// FIFO lays the inputs end to end, each as its segments, then the
	// outputs and the fee: each output takes the segments it overlaps
	// (Clayton's case). The default.
	FIFO Model = "fifo"
	// LIFO is FIFO with the inputs in reverse order.
	LIFO Model = "lifo"
	// TIHO (taint in, highest out) fills the largest outputs with the
	// taint first.
	TIHO Model = "tiho"
)

// Models lists the models.
var Models = []Model{FIFO, Haircut, Poison, LIFO, TIHO}

// ParseModel returns the model named s.
func ParseModel(s string) (Model, error) {
	m := Model(strings.ToLower(s))
	if slices.Contains(Models, m) {
		return m, nil
	}
	return "", fmt.Errorf("unknown model %q (fifo, haircut, poison, lifo or tiho)", s)
}

// segmented reports whether the model keeps segment lists.
func (m Model) segmented() bool { return m == FIFO || m == LIFO || m == TIHO }

// DefaultEndpointCategories are the categories of labelled services a
// trace ends at: custodial services, where stolen funds can be frozen or
// asked about, and mixers and bridges, past which the chain alone says no
// more.
var DefaultEndpointCategories = []string{
	"exchange", "mixing_service", "bridge", "otc_broker",
	"wallet_service", "payment_processor", "gambling", "market",
}

// Label is what a labelled address is.
type Label struct {
	Entity     string `json:"entity"`
	Category   string `json:"category"`
	Confidence *int   `json:"confidence,omitempty"`
	Source     string `json:"source,omitempty"`
}

// Options configure a trace.
type Options struct {
	// Model is the taint model. Default: FIFO.
	Model Model
	// MaxHops is how many transactions deep a trace follows value.
	// Default: 25.
	MaxHops int
	// Dust stops value below it: a tainted amount (in base units) smaller
	// than Dust is not followed further. 0 follows every base unit.
	Dust *big.Int
	// MaxHeight, if > 0, is the last block height a trace follows value
	// into (the window's end).
	MaxHeight int64
	// Labels are the labelled addresses, by address key, as the viewer
	// sees them.
	Labels map[string]Label
	// EndpointCategories are the label categories that end a trace.
	// Default: DefaultEndpointCategories.
	EndpointCategories []string
	// MaxEdges bounds the edges a result lists (the flows themselves are
	// all followed). Default: 10,000.
	MaxEdges int
	// MaxStops bounds the stops a result lists one by one; StopTotals
	// counts them all. Default: 10,000.
	MaxStops int
	// Progress, if set, is called now and then with the transactions
	// stepped so far, from the goroutine that runs the trace.
	Progress func(txs int)
	// Watch, if set, holds address keys: every tainted output (transfer)
	// to one of them is listed in Result.Arrivals, whether the trace
	// stops there or goes on, so that a watched address need not be
	// labelled. Default: none.
	Watch map[string]bool
}

func (o *Options) ensureDefaults() {
	if o.Model == "" {
		o.Model = FIFO
	}
	if o.MaxHops <= 0 {
		o.MaxHops = 25
	}
	if o.Dust == nil {
		o.Dust = new(big.Int)
	}
	if o.EndpointCategories == nil {
		o.EndpointCategories = DefaultEndpointCategories
	}
	if o.MaxEdges <= 0 {
		o.MaxEdges = 10_000
	}
	if o.MaxStops <= 0 {
		o.MaxStops = 10_000
	}
}

// SeedKind says what a seed names.
type SeedKind string

// The kinds of seed.
const (
	SeedOutput  SeedKind = "output"  // an outpoint
	SeedTx      SeedKind = "tx"      // every output of a transaction
	SeedAddress SeedKind = "address" // an address's funds in one asset
)

// Seed is where a trace starts.
type Seed struct {
	Kind SeedKind `json:"kind"`
	// Output is "txid:vout" (SeedOutput); Tx a transaction hash (SeedTx);
	// Address and Asset an address and asset id (SeedAddress).
	Output  string `json:"output,omitempty"`
	Tx      string `json:"tx,omitempty"`
	Address string `json:"address,omitempty"`
	Asset   string `json:"asset,omitempty"`
	// Amount, if set, taints only that much: of an address, its funds in
	// the order they arrived (from FromHeight on); of an output or a
	// transaction, the first base units of its value.
	Amount Amount `json:"amount,omitzero"`
	// FromHeight, for an address, is the first block whose funds count;
	// From, the earliest block time: funds that arrived in blocks dated
	// before it do not count (an incident's date bounds its seeds, so that
	// what a reused address held before the theft is not called stolen).
	FromHeight int64     `json:"from_height,omitempty"`
	From       time.Time `json:"from,omitzero"`
	// Note says where the seed came from (an incident's wallet, ...).
	Note string `json:"note,omitempty"`
}

// Result is a trace's outcome, as DESIGN section 6 lists it.
type Result struct {
	Chain string `json:"chain"`
	Model Model  `json:"model"`
	// Asset is the asset traced (account chains); the native asset on
	// UTXO chains.
	Asset string       `json:"asset"`
	Seeds []SeedResult `json:"seeds"`
	// Tainted is the total the seeds taint.
	Tainted Amount `json:"tainted"`
	// Endpoints are the labelled services the taint reached, largest
	// amount first.
	Endpoints []Endpoint `json:"endpoints"`
	// Stops are where the trace stopped short of a service, each with its
	// reason; StopTotals sums them per reason, including those not listed.
	Stops          []Stop               `json:"stops"`
	StopTotals     map[string]StopTotal `json:"stop_totals"`
	StopsTruncated bool                 `json:"stops_truncated,omitempty"`
	// Fees is the taint paid as transaction fees.
	Fees Amount `json:"fees"`
	// Unspent is the taint still in unspent outputs (or balances).
	Unspent        Amount        `json:"unspent"`
	Edges          []Edge        `json:"edges"`
	EdgesTruncated bool          `json:"edges_truncated,omitempty"`
	Annotations    []Annotation  `json:"annotations"`
	Stats          Stats         `json:"stats"`
	Options        ResultOptions `json:"options"`
	// Arrivals are the tainted outputs (transfers) to the addresses of
	// Options.Watch, in chain order.
	Arrivals []Arrival `json:"arrivals,omitempty"`
}

// ResultOptions are the options a result was computed with.
type ResultOptions struct {
	MaxHops   int      `json:"max_hops"`
	Dust      string   `json:"dust"`
	MaxHeight int64    `json:"max_height,omitempty"`
	Endpoints []string `json:"endpoint_categories"`
}

// SeedResult is a seed as the trace resolved it.
type SeedResult struct {
	Seed
	// Outputs are the outpoints (UTXO) the seed tainted.
	Outputs []string `json:"outputs,omitempty"`
	// Tainted is what the seed tainted.
	Tainted Amount `json:"tainted"`
}

// Endpoint is a labelled service the taint reached.
type Endpoint struct {
	Address  string `json:"address"`
	Entity   string `json:"entity"`
	Category string `json:"category"`
	// Amount is the taint that arrived, in base units.
	Amount Amount `json:"amount"`
	// Hops is the fewest transactions between a seed and the endpoint.
	Hops int `json:"hops"`
	// FirstBlock and FirstTx are where taint first arrived.
	FirstBlock int64  `json:"first_block"`
	FirstTx    string `json:"first_tx"`
	// Deposits counts the outputs (transfers) that brought taint.
	Deposits int `json:"deposits"`
	// Path is the transactions from a seed to the first arrival, and Via
	// the addresses the taint went through on that path (the endpoint
	// aside).
	Path []string `json:"path"`
	Via  []string `json:"via"`
	// BySeed splits Amount by the seeds it came from (segmented models).
	BySeed []SeedAmount `json:"by_seed,omitempty"`
	// Confidence is the label's confidence, if given.
	Confidence *int `json:"confidence,omitempty"`
}

// SeedAmount is the part of an amount that came from one seed.
type SeedAmount struct {
	Seed   int    `json:"seed"`
	Amount Amount `json:"amount"`
}

// Stop reasons.
const (
	StopUnspent  = "unspent"
	StopHops     = "hop-limit"
	StopDust     = "dust"
	StopWindow   = "window"
	StopBurned   = "burned"    // sent to no address (OP_RETURN, a burn)
	StopNotFound = "not-found" // the spending transaction is not in the graph
)

// Stop is where a trace stopped short of a labelled service.
type Stop struct {
	Reason  string `json:"reason"`
	Address string `json:"address,omitempty"`
	Output  string `json:"output,omitempty"`
	Tx      string `json:"tx,omitempty"`
	Amount  Amount `json:"amount"`
	Hops    int    `json:"hops"`
	Height  int64  `json:"height"`
	// Label is the address's label, when it has one that is not an
	// endpoint category.
	Label *Label `json:"label,omitempty"`
}

// StopTotal sums the stops of one reason.
type StopTotal struct {
	Count  int    `json:"count"`
	Amount Amount `json:"amount"`
}

// Edge is a tainted flow: in transaction Tx, from the addresses of its
// tainted inputs to an output's address.
type Edge struct {
	Tx     string   `json:"tx"`
	From   []string `json:"from"`
	To     string   `json:"to"`
	Amount Amount   `json:"amount"`
	Hop    int      `json:"hop"`
}

// Annotation says what shape a transaction on the trace has.
type Annotation struct {
	Tx    string   `json:"tx"`
	Kinds []string `json:"kinds"`
	// PeelLength is the length of the peel chain the transaction is part
	// of, for a peel-chain annotation.
	PeelLength int `json:"peel_length,omitempty"`
}

// Stats say what a trace did.
type Stats struct {
	// Txs are the transactions that moved taint.
	Txs int `json:"txs"`
	// Outputs are the outputs (or transfers) that received taint.
	Outputs  int           `json:"outputs"`
	Elapsed  time.Duration `json:"-"`
	Millis   float64       `json:"elapsed_ms"`
	Complete bool          `json:"complete"`
}

// Amount is an amount in base units; JSON has it as a decimal string.
type Amount struct{ *big.Int }

// amt returns x as an Amount.
func amt(x uint64) Amount { return Amount{new(big.Int).SetUint64(x)} }

// MarshalJSON writes the amount as a decimal string ("0" when nil).
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.Int == nil {
		return []byte(`"0"`), nil
	}
	return []byte(`"` + a.Int.String() + `"`), nil
}

// UnmarshalJSON reads a decimal string.
func (a *Amount) UnmarshalJSON(p []byte) error {
	s := strings.Trim(string(p), `"`)
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Sign() < 0 {
		return fmt.Errorf("amount %s is not a decimal number of base units", p)
	}
	a.Int = v
	return nil
}
