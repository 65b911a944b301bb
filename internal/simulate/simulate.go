// Package simulate writes a realistic, seeded laundering scenario as real
// chain data, for tests, benchmarks and the demo: Bitcoin regtest blocks in
// blk*.dat framing, a GraphSense TagPack labelling the exchanges, a STIX 2.1
// bundle with the incident, and the ground truth a tracer should find.
//
// [Generate] writes four files into a new folder:
//
//   - blocks.dat: regtest blocks from the genesis block on, framed with the
//     regtest magic as bitcoind writes blk*.dat files. Every block links to
//     its parent, commits to its transactions (merkle root) and its
//     witnesses (BIP141 commitment), carries its height in the coinbase
//     (BIP34), is ten minutes after the one before, and meets regtest's
//     minimal proof-of-work target (one header hash in two does). The
//     coinbase pays the subsidy and the fees. Outputs are mostly P2WPKH,
//     some P2PKH, P2SH-P2WPKH and P2TR, to keys derived from the seed.
//     Signatures are not valid: inputs carry a DER-shaped signature of the
//     right size (71 or 72 bytes, 64 for Taproot) and the real public key,
//     but nothing was signed. The blocks are for tracing, not for
//     consensus: a node would reject them.
//   - tagpack.yaml: the hot wallets and deposit addresses of the victim
//     exchange and of exchanges A and B, category exchange, on chain
//     bitcoin-regtest.
//   - incident.json: the theft as a STIX bundle: the incident with its loss,
//     the victim, the threat actor it is attributed to, and the thief's
//     first addresses as theft-destination wallets.
//   - truth.json: what really happened ([Truth]).
//
// The story: coinbases fund mining pools, which pay miners and sell to
// exchanges; users pay each other (1 to 3 inputs, a payment and change),
// deposit to exchanges and withdraw in exchange batch payouts; exchanges
// consolidate their deposit addresses into their hot wallets. The victim
// exchange's hot wallet fills, and a few transactions drain it to the
// thief's seed addresses. The thief then runs peel chains (1 input, 2
// outputs, the peel at most a tenth of the value, the rest peeled again;
// peels to its own wallets and to exchange deposit addresses), mixes part
// of the loot in a Wasabi 1.0-style CoinJoin beside clean users (equal
// outputs of about 0.1 BTC, change and a coordinator fee), fans another
// part out to 20 or more wallets, and deposits into exchanges A and B.
// Everything is an integer number of satoshi.
//
// The same seed and transaction count give the same files, byte for byte:
// randomness comes from ChaCha8 streams seeded from Options.Seed, and
// nothing depends on the clock or on map order. A million transactions (501
// blocks, 350 MB of blocks.dat) take about eight seconds on one core of a
// two-core machine and under 200 MB of memory.
package simulate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
)

// Transaction counts.
const (
	// DefaultTxs is the number of transactions when Options.Txs is zero.
	DefaultTxs = 10_000
	// MinTxs is the fewest transactions a scenario holds: the hundred and
	// one blocks before the first coinbase matures, the story, and enough
	// ordinary traffic to hide it in.
	MinTxs = 500
)

// The files Generate writes.
const (
	BlocksFile   = "blocks.dat"
	TagPackFile  = "tagpack.yaml"
	IncidentFile = "incident.json"
	TruthFile    = "truth.json"
)

// Options configure [Generate]. The zero value is valid.
type Options struct {
	// Seed selects the scenario: the same seed and Txs give the same files.
	// Default: 0, a seed like any other.
	Seed int64
	// Txs is the number of transactions in blocks.dat, the genesis block's
	// and every coinbase included. Default: DefaultTxs; at least MinTxs.
	Txs int
	// Progress, if set, is called after each block with the transactions
	// written so far and Txs. Default: none.
	Progress func(done, total int)
}

// EnsureDefaults fills in zero fields.
func (o *Options) EnsureDefaults() {
	if o.Txs == 0 {
		o.Txs = DefaultTxs
	}
}

// Validate reports every problem of o in one error.
func (o *Options) Validate() error {
	if o.Txs < MinTxs {
		return fmt.Errorf("%d transactions is too few: a scenario needs at least %d", o.Txs, MinTxs)
	}
	return nil
}

// Summary is what [Generate] wrote.
type Summary struct {
	// Blocks counts the blocks of blocks.dat, the genesis block included;
	// Txs their transactions.
	Blocks, Txs int
	// Stolen is what the theft took to the thief's seed addresses, in
	// satoshi.
	Stolen int64
	// Files are the paths written, blocks.dat first.
	Files []string
	// Truth is what truth.json holds.
	Truth *Truth
}

// Sat is an amount in satoshi. In JSON it is a decimal string, as cointrail
// writes every amount.
type Sat int64

// String returns the amount in satoshi as a decimal number.
func (s Sat) String() string { return strconv.FormatInt(int64(s), 10) }

// MarshalJSON writes the amount as a decimal string.
func (s Sat) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(s), 10) + `"`), nil
}

// UnmarshalJSON reads a decimal string.
func (s *Sat) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("amount: %w", err)
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil {
		return fmt.Errorf("amount %q: %w", str, err)
	}
	*s = Sat(n)
	return nil
}

// Truth is the ground truth of a scenario, as truth.json holds it. Amounts
// are satoshi as decimal strings; transaction ids are as the chain shows
// them (byte-reversed hex).
//
// It balances exactly: Drained = TheftFees + Stolen, and
//
//	Stolen = Σ Exchanges[i].Received + FeesPaid + Elsewhere + Unspent
//
// because every satoshi of the loot ends in an exchange's deposit, in a
// fee, with the CoinJoin coordinator, or in an output the thief still
// holds.
type Truth struct {
	Seed int64 `json:"seed"`
	// Chain is "bitcoin-regtest"; Asset "bitcoin-regtest:BTC".
	Chain string `json:"chain"`
	Asset string `json:"asset"`
	// Victim names the exchange robbed; Actor the thief.
	Victim string `json:"victim"`
	Actor  string `json:"actor"`
	// Incident is the id of the incident in incident.json.
	Incident string `json:"incident"`
	// TheftHeight and TheftTime are those of the block of the first theft
	// transaction.
	TheftHeight int64     `json:"theft_height"`
	TheftTime   time.Time `json:"theft_time"`
	// TheftTxs drain the victim's hot wallet to the seeds.
	TheftTxs []string `json:"theft_txs"`
	// Drained is the victim's loss (the theft transactions' inputs),
	// TheftFees what the theft transactions paid miners, Stolen what
	// reached the seeds.
	Drained   Sat `json:"drained"`
	TheftFees Sat `json:"theft_fees"`
	Stolen    Sat `json:"stolen"`
	// Seeds are the theft transactions' outputs: where tracing starts.
	Seeds []Outpoint `json:"seeds"`
	// Controlled lists every output the thief controlled from the theft
	// on, seeds first, then in chain order: its CoinJoin outputs and
	// change included, its deposits to exchanges not (the exchange
	// controls those).
	Controlled []Outpoint `json:"controlled"`
	// Exchanges lists, per exchange, the loot it received: outputs of the
	// thief's transactions that pay its addresses.
	Exchanges []ExchangeTruth `json:"exchanges"`
	// FeesPaid is what the thief paid miners after the theft: the fees of
	// its transactions and its share of the CoinJoin's.
	FeesPaid Sat `json:"fees_paid"`
	// Elsewhere is loot that went neither to an exchange nor to a fee nor
	// stayed with the thief: the CoinJoin coordinator's fees on the
	// thief's inputs.
	Elsewhere Sat `json:"elsewhere"`
	// Unspent is the value of the Controlled outputs still unspent at the
	// end of the chain.
	Unspent Sat `json:"unspent"`
	// Shapes names the transactions of each laundering pattern.
	Shapes Shapes `json:"shapes"`
}

// Outpoint is an output with its address and value, and the transaction
// that spends it, if any.
type Outpoint struct {
	Tx      string `json:"tx"`
	Index   uint32 `json:"index"`
	Address string `json:"address"`
	Value   Sat    `json:"value"`
	SpentBy string `json:"spent_by,omitempty"`
}

// String returns "txid:index".
func (o Outpoint) String() string { return fmt.Sprintf("%s:%d", o.Tx, o.Index) }

// ExchangeTruth is the loot one exchange received.
type ExchangeTruth struct {
	// Name is the exchange's label in tagpack.yaml ("" for none).
	Name string `json:"name"`
	// Labelled says whether tagpack.yaml labels its addresses.
	Labelled bool `json:"labelled"`
	// Received is the sum of Deposits.
	Received Sat        `json:"received"`
	Deposits []Outpoint `json:"deposits,omitempty"`
}

// Shapes names the transactions of the laundering patterns, for checking
// what a detector finds.
type Shapes struct {
	// PeelChains lists each peel chain's transactions in order.
	PeelChains [][]string `json:"peel_chains"`
	// PreMix splits a seed into the thief's CoinJoin inputs and the
	// fan-out's source.
	PreMix string `json:"premix"`
	// CoinJoin is the Wasabi 1.0-style CoinJoin; Denomination its equal
	// output value, about 0.1 BTC.
	CoinJoin     string `json:"coinjoin"`
	Denomination Sat    `json:"denomination"`
	// FanOut pays 20 or more thief wallets at once.
	FanOut string `json:"fan_out"`
}

// Generate writes a scenario into the folder out, which must not exist or
// be empty, and returns what it wrote. Bad options or an unusable out are
// *[fault.Error] values with code [fault.Invalid]; a canceled ctx stops it
// with ctx's error. On failure the files it began are removed. Calls for
// different folders may run at the same time.
func Generate(ctx context.Context, out string, opts Options) (*Summary, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "simulate: %v", err)
	}
	if err := prepareDir(out); err != nil {
		return nil, err
	}
	files := []string{
		filepath.Join(out, BlocksFile), filepath.Join(out, TagPackFile),
		filepath.Join(out, IncidentFile), filepath.Join(out, TruthFile),
	}
	s, err := generate(ctx, files, opts)
	if err != nil {
		for _, f := range files {
			_ = os.Remove(f)
		}
		return nil, err
	}
	return s, nil
}

// prepareDir makes out, or checks that it is an empty folder.
func prepareDir(out string) error {
	if out == "" {
		return fault.New(fault.Invalid, "simulate: no output folder")
	}
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(out, 0o755); err != nil {
			return fmt.Errorf("simulate: create %s: %w", out, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("simulate: %w", err)
	case !st.IsDir():
		return fault.New(fault.Invalid, "simulate: %s is a file, not a folder", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if len(entries) > 0 {
		return fault.New(fault.Invalid, "simulate: %s is not empty", out)
	}
	return nil
}

// seedFor derives the 32-byte seed of one ChaCha8 stream from the
// scenario's seed, so that streams for different purposes never overlap.
func seedFor(seed int64, purpose string) [32]byte {
	h := sha256.New()
	h.Write([]byte("cointrail simulate\x00" + purpose + "\x00"))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
