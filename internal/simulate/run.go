package simulate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain/bitcoin"
)

// scenarioStart is the time of block 1. Block 0 is regtest's genesis
// block, of 2011; the chain resumes at this date, as a regtest chain made
// today would.
var scenarioStart = time.Date(2024, 6, 3, 0, 0, 0, 0, time.UTC)

// The mining pools and their shares of the blocks, in percent.
var poolShares = []int{35, 30, 20, 15}

// The exchanges: name, labelled in the TagPack, deposit script kind, hot
// wallet addresses.
var exchangeSpecs = [numExchanges]struct {
	name     string
	labelled bool
	depKind  uint8
	hot      int
}{
	exVictim: {"Victim Exchange", true, kindP2WPKH, 2},
	exA:      {"Exchange A", true, kindP2WPKH, 3},
	exB:      {"Exchange B", true, kindP2SH, 2},
	exC:      {"Exchange C", false, kindP2WPKH, 2},
}

// ActorName is the threat actor the incident is attributed to.
const ActorName = "Lazarus Group (simulated)"

// newGen sets up the participants and draws the story; run writes the
// chain to w. The sizes follow opts.Txs: 20 to 2,500 transactions a block
// after the 100 blocks of coinbases alone, one user for every ten
// transactions (60 to 50,000 of them).
func newGen(ctx context.Context, opts Options, w *bufio.Writer) *gen {
	keys := newKeyring(opts.Seed)
	g := &gen{
		ctx:   ctx,
		opts:  opts,
		rng:   rand.New(rand.NewChaCha8(seedFor(opts.Seed, "economy"))),
		keys:  keys,
		total: opts.Txs,
		c: &chainWriter{
			w: w, keys: keys, params: bitcoin.Regtest.Params(), start: scenarioStart,
			rng: rand.New(rand.NewChaCha8(seedFor(opts.Seed, "signatures"))),
		},
	}
	// Before the economy: the genesis block and 100 blocks of coinbases
	// only, until the first one matures.
	econ := g.total - 1 - maturity
	g.perBlock = min(max(econ/60, 20), 2_500)
	blocks := (econ + g.perBlock) / (g.perBlock + 1)
	g.econEst = econ - blocks
	g.users = make([]user, min(max(g.econEst/10, 60), 50_000))
	g.fundedAt = make([]int32, len(g.users))
	for i := range g.users {
		g.fundedAt[i] = -1
		n := 1 + g.rng.IntN(3)
		for range n {
			g.users[i].addrs = append(g.users[i].addrs, keys.add(g.userKind()))
		}
	}
	for _, spec := range exchangeSpecs {
		e := &exchange{
			name: spec.name, labelled: spec.labelled, depKind: spec.depKind,
			depositOf: make([]addr, len(g.users)), poolDeposit: make([]addr, len(poolShares)),
		}
		for range spec.hot {
			e.hot = append(e.hot, keys.add(kindP2WPKH))
		}
		g.ex = append(g.ex, e)
	}
	for range poolShares {
		g.pools = append(g.pools, &pool{a: keys.add(kindP2WPKH)})
	}
	g.st = g.plan()
	return g
}

// run writes the chain.
func (g *gen) run() error {
	if err := g.c.writeGenesis(); err != nil {
		return err
	}
	g.count = 1
	for range maturity {
		g.count++
		if err := g.finishBlock(); err != nil {
			return err
		}
	}
	for g.count < g.total {
		if err := g.ctx.Err(); err != nil {
			return err
		}
		g.count++ // the coinbase
		for len(g.c.txs) < g.perBlock && !g.c.full(200_000) && g.count < g.total {
			if err := g.slot(); err != nil {
				return err
			}
			g.count++
			g.econ++
		}
		if err := g.finishBlock(); err != nil {
			return err
		}
	}
	if g.st.next < len(g.st.ops) {
		return fmt.Errorf("simulate: the story did not fit: %d of %d steps left", len(g.st.ops)-g.st.next, len(g.st.ops))
	}
	return nil
}

// slot fills one economy slot: the story's next step when it is due, else
// ordinary traffic.
func (g *gen) slot() error {
	if g.st.due(g) {
		err := g.st.step(g)
		if !errors.Is(err, errInfeasible) {
			return err
		}
	}
	return g.background()
}

// finishBlock writes the block being built, mined by a pool.
func (g *gen) finishBlock() error {
	r := g.rng.IntN(100)
	k := 0
	for ; k < len(poolShares)-1 && r >= poolShares[k]; k++ {
		r -= poolShares[k]
	}
	p := g.pools[k]
	cb, val, err := g.c.finish(p.a)
	if err != nil {
		return err
	}
	p.cb = append(p.cb, cbOut{u: utxo{op: wire.OutPoint{Hash: cb, Index: 0}, val: val, a: p.a}, height: g.c.height})
	if g.opts.Progress != nil {
		g.opts.Progress(g.count, g.total)
	}
	return nil
}

// generate runs the generator and writes the files, blocks first.
func generate(ctx context.Context, files []string, opts Options) (*Summary, error) {
	f, err := os.Create(files[0])
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	g := newGen(ctx, opts, w)
	err = g.run()
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("simulate: %s: %w", files[0], err)
	}
	t, err := g.truth()
	if err != nil {
		return nil, err
	}
	writers := []func() ([]byte, error){g.tagPack, func() ([]byte, error) { return g.incident(t) }, func() ([]byte, error) { return marshalTruth(t) }}
	for k, write := range writers {
		data, err := write()
		if err != nil {
			return nil, fmt.Errorf("simulate: %s: %w", files[k+1], err)
		}
		if err := os.WriteFile(files[k+1], data, 0o644); err != nil {
			return nil, fmt.Errorf("simulate: %w", err)
		}
	}
	return &Summary{Blocks: g.c.blocks, Txs: g.count, Stolen: int64(t.Stolen), Files: files, Truth: t}, nil
}
