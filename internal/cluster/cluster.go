// Package cluster groups the addresses of a chain into entities, over the
// chain index's dense graph (DESIGN section 6).
//
// On UTXO chains it applies the multi-input (common-input ownership)
// heuristic: the addresses a transaction spends from belong to one entity,
// except in a CoinJoin ([heuristic.CoinJoin]), where several entities
// spend together, and except for coinbase inputs and inputs whose spent
// output the index does not have. The clusters live in a union-find over
// the graph's address numbers; every merge keeps the transaction that
// caused it, so [Clusterer.Explain] can say which transactions make two
// addresses one entity, and a reorg undoes merges by a rebuild.
//
// A label on one address of a cluster labels the whole cluster, with a
// reduced confidence ([Labeler]); on account chains the deposit-address
// heuristic derives exchange labels from forwarding ([Labeler.Deposit]).
//
// Nothing is persisted: a Clusterer is built in memory from the graph, in
// about 0.3 s per million transactions on a 2-core machine
// (BenchmarkRebuild).
package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/heuristic"
)

// Graph is what clustering reads of a chain's dense graph, implemented by
// *chainstore.Graph. The record readers are called between RLock and
// RUnlock; the index lookups (AddrNum, AddrKey) need no lock.
type Graph interface {
	heuristic.Graph
	RLock()
	RUnlock()
	// Model returns the chain's model: UTXO chains are clustered, account
	// chains get the deposit-address heuristic.
	Model() chain.Model
	// TxID returns transaction n's hash, TxHash the way the chain shows it.
	TxID(n uint32) [32]byte
	TxHash(n uint32) string
	// AddrNum returns the number of an address key; AddrKey the key of a
	// number. Both fail with chain.ErrNotFound for one the index lacks.
	AddrNum(key string) (uint32, error)
	AddrKey(n uint32) (string, error)
	// Transfers returns transaction n's transfer numbers on an account
	// chain; Transfer one transfer, TransferAmount its exact amount, and
	// OutTransfers the transfers from an address, in chain order.
	Transfers(n uint32) (first uint64, count uint32)
	Transfer(t uint64) chainstore.TransferRec
	TransferAmount(t uint64) *big.Int
	OutTransfers(a uint32) []uint64
}

var _ Graph = (*chainstore.Graph)(nil)

// Every CoinJoin detector of package heuristic needs at least this many
// distinct input addresses and outputs (JoinMarket and Wasabi 1.x: three
// equal outputs, at most one per input address; the other shapes need
// more). A transaction below either is merged without building the
// detectors' view of it, which keeps a rebuild near one second per
// million transactions. TestCoinJoinPrefilter holds them to the detectors.
const (
	coinJoinMinInputs  = min(heuristic.JoinMarketMinParticipants, heuristic.Wasabi1MinParticipants, heuristic.WhirlpoolMinInputs)
	coinJoinMinOutputs = min(heuristic.JoinMarketMinParticipants, heuristic.Wasabi1MinParticipants)
)

// Merge is an edge of the spanning forest of merges: transaction Tx spent
// from addresses A and B while they were in different clusters, and so
// joined the two. A cluster of n addresses has n-1 of them.
type Merge struct {
	A  uint32 `json:"a"`
	B  uint32 `json:"b"`
	Tx uint32 `json:"tx"`
}

// Stats counts what a Clusterer holds.
type Stats struct {
	// Txs is the number of transaction numbers processed.
	Txs uint32 `json:"txs"`
	// MultiInput counts the transactions that spend from two or more
	// addresses, CoinJoins among them; CoinJoins those left unmerged.
	MultiInput uint64 `json:"multi_input"`
	CoinJoins  uint64 `json:"coinjoins"`
	// Merges is the number of merges (edges of the spanning forest).
	Merges int `json:"merges"`
	// Clusters counts the clusters of two or more addresses, Addresses
	// the addresses in them (Merges + Clusters: each cluster is a tree).
	Clusters  int `json:"clusters"`
	Addresses int `json:"addresses"`
	// Rebuilds counts the rebuilds that reorgs caused.
	Rebuilds int `json:"rebuilds"`
}

// Delta is what one Update did.
type Delta struct {
	// Rebuilt is set when a reorg made Update start from scratch, and
	// Reason says what it found.
	Rebuilt bool   `json:"rebuilt"`
	Reason  string `json:"reason,omitempty"`
	// From and To are the transaction numbers processed: [From, To).
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
	// Merges and CoinJoins count the merges made and the CoinJoins left
	// unmerged.
	Merges    int    `json:"merges"`
	CoinJoins uint64 `json:"coinjoins"`
}

// Clusterer clusters the addresses of one chain's graph, incrementally:
// Update processes the transactions the graph got since the last Update.
// Its methods are safe for concurrent use; Update excludes the readers
// for as long as it runs, and holds the graph's read lock meanwhile (so a
// block's Apply waits for it).
//
// Reorgs: Update checks that every transaction it processed is still in
// the graph, unchanged (the graph's NumTx has not fallen below them, none
// is Removed, and each hash is the one it saw). When one is not, it drops
// every cluster and rebuilds from the first transaction: the merges that
// the rolled-back transactions caused are undone by not being made again.
// The check reads each processed transaction's hash once (4 to 9 ms per
// million, BenchmarkRebuild/update-check-1M); a rebuild costs about 0.3 s
// per million.
type Clusterer struct {
	g Graph

	mu struct {
		sync.RWMutex
		// done is the number of transactions processed, [0, done), and
		// prints holds the first 4 bytes of each one's hash, to see a
		// reorg that cut numbers back and reused them since.
		done   uint32
		prints []uint32
		// parent, size and next are indexed by address number; numbers
		// beyond them are clusters of one. parent is the union-find
		// forest, size a root's cluster size, and next links the
		// addresses of each cluster in a ring, so its members are listed
		// without a scan.
		parent []uint32
		size   []uint32
		next   []uint32
		// merges are the edges of the spanning forest, in the order made.
		merges []Merge
		stats  Stats
		// scratch holds a transaction's input addresses.
		scratch []uint32
	}
}

// New returns a Clusterer of g with no transaction processed: call Update.
func New(g Graph) *Clusterer {
	return &Clusterer{g: g}
}

// Graph returns the graph c clusters.
func (c *Clusterer) Graph() Graph { return c.g }

// Update processes the transactions g got since the last Update, or all
// of them after a reorg (see [Clusterer]). On a cancelled ctx it returns
// the error with what it processed so far kept: the next Update goes on
// from there.
func (c *Clusterer) Update(ctx context.Context) (Delta, error) {
	return c.update(ctx, false)
}

// Rebuild drops every cluster and processes all of g's transactions.
func (c *Clusterer) Rebuild(ctx context.Context) (Delta, error) {
	return c.update(ctx, true)
}

func (c *Clusterer) update(ctx context.Context, force bool) (Delta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.g.RLock()
	defer c.g.RUnlock()
	var d Delta
	if force {
		c.resetLocked()
		d.Rebuilt, d.Reason = true, "rebuild asked for"
	} else if reason := c.staleLocked(); reason != "" {
		c.resetLocked()
		c.mu.stats.Rebuilds++
		d.Rebuilt, d.Reason = true, reason
	}
	d.From = c.mu.done
	merges, coinJoins := len(c.mu.merges), c.mu.stats.CoinJoins
	end := c.g.NumTx()
	var err error
	for n := c.mu.done; n < end; n++ {
		if n&0xfff == 0 {
			if err = ctx.Err(); err != nil {
				err = fmt.Errorf("cluster: update at transaction %d: %w", n, err)
				break
			}
		}
		c.processLocked(n)
	}
	d.To = c.mu.done
	d.Merges = len(c.mu.merges) - merges
	d.CoinJoins = c.mu.stats.CoinJoins - coinJoins
	return d, err
}

// staleLocked returns why the processed transactions no longer match the
// graph, or "" when they do. The caller holds c.mu and the graph's lock.
func (c *Clusterer) staleLocked() string {
	if n := c.g.NumTx(); n < c.mu.done {
		return fmt.Sprintf("the graph has %d transactions, %d were processed: a reorg cut it back", n, c.mu.done)
	}
	// A removed transaction's hash reads as zeros, so comparing prints
	// finds it too; Removed is asked only when the print does not tell.
	for n, p := range c.mu.prints[:c.mu.done] {
		if fp := fingerprint(c.g.TxID(uint32(n))); fp != p || fp == 0 {
			if c.g.Tx(uint32(n)).Removed() {
				return fmt.Sprintf("transaction %d was removed by a reorg", n)
			}
			if fp != p {
				return fmt.Sprintf("transaction %d is another one: a reorg replaced it", n)
			}
		}
	}
	return ""
}

// fingerprint is the part of a transaction hash kept to recognise it.
func fingerprint(id [32]byte) uint32 { return binary.LittleEndian.Uint32(id[:4]) }

// resetLocked drops every cluster, keeping the memory for the rebuild.
func (c *Clusterer) resetLocked() {
	m := &c.mu
	rebuilds := m.stats.Rebuilds
	m.done, m.prints = 0, m.prints[:0]
	m.parent, m.size, m.next = m.parent[:0], m.size[:0], m.next[:0]
	m.merges = m.merges[:0]
	m.stats = Stats{Rebuilds: rebuilds}
}

// processLocked merges the input addresses of transaction n, unless it is
// a CoinJoin.
func (c *Clusterer) processLocked(n uint32) {
	g, m := c.g, &c.mu
	m.prints = append(m.prints, fingerprint(g.TxID(n)))
	m.done = n + 1
	m.stats.Txs = m.done
	r := g.Tx(n)
	if r.Removed() || r.NumIn < 2 {
		return
	}
	addrs := m.scratch[:0]
	for i := r.FirstIn; i < r.FirstIn+uint64(r.NumIn); i++ {
		o := g.Input(i)
		if o == chainstore.InputCoinbase || o == chainstore.InputUnknown {
			continue
		}
		if a := g.Output(o).Addr; a != chainstore.NoAddr {
			addrs = append(addrs, a)
		}
	}
	m.scratch = addrs
	if len(addrs) < 2 {
		return
	}
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	if len(addrs) < 2 {
		return
	}
	m.stats.MultiInput++
	if len(addrs) >= coinJoinMinInputs && r.NumOut >= coinJoinMinOutputs {
		// The exchange veto is not applied (no labels here): a
		// CoinJoin-shaped exchange payout stays unmerged, which loses a
		// merge rather than making a false one.
		tx := heuristic.TxFromGraph(g, n, nil)
		if _, ok := heuristic.CoinJoin(&tx); ok {
			m.stats.CoinJoins++
			return
		}
	}
	for _, a := range addrs[1:] {
		c.unionLocked(addrs[0], a, n)
	}
}

// growLocked makes address a a member of the arrays.
func (c *Clusterer) growLocked(a uint32) {
	m := &c.mu
	if int(a) < len(m.parent) {
		return
	}
	need := int(a) + 1 - len(m.parent)
	m.parent = slices.Grow(m.parent, need)
	m.size = slices.Grow(m.size, need)
	m.next = slices.Grow(m.next, need)
	for x := uint32(len(m.parent)); x <= a; x++ {
		m.parent = append(m.parent, x)
		m.size = append(m.size, 1)
		m.next = append(m.next, x)
	}
}

// findLocked returns a's root, compressing the path to it.
func (c *Clusterer) findLocked(a uint32) uint32 {
	p := c.mu.parent
	r := a
	for p[r] != r {
		r = p[r]
	}
	for p[a] != r {
		a, p[a] = p[a], r
	}
	return r
}

// unionLocked joins the clusters of a and b, recording tx as the merge's
// cause when they were apart: union by size, the smaller tree under the
// larger root.
func (c *Clusterer) unionLocked(a, b, tx uint32) {
	c.growLocked(max(a, b))
	ra, rb := c.findLocked(a), c.findLocked(b)
	if ra == rb {
		return
	}
	m := &c.mu
	sa, sb := m.size[ra], m.size[rb]
	switch {
	case sa == 1 && sb == 1:
		m.stats.Clusters++
	case sa > 1 && sb > 1:
		m.stats.Clusters--
	}
	if sa < sb {
		ra, rb = rb, ra
	}
	m.parent[rb] = ra
	m.size[ra] = sa + sb
	// Swapping one successor of each ring splices the two rings.
	m.next[ra], m.next[rb] = m.next[rb], m.next[ra]
	m.merges = append(m.merges, Merge{A: a, B: b, Tx: tx})
	m.stats.Merges = len(m.merges)
	m.stats.Addresses = m.stats.Merges + m.stats.Clusters
}

// rootLocked returns a's root without changing the forest, for readers
// under the read lock; union by size keeps the walk logarithmic.
func (c *Clusterer) rootLocked(a uint32) uint32 {
	p := c.mu.parent
	if int(a) >= len(p) {
		return a
	}
	for p[a] != a {
		a = p[a]
	}
	return a
}

// sizeLocked returns the size of the cluster whose root is r.
func (c *Clusterer) sizeLocked(r uint32) int {
	if int(r) >= len(c.mu.size) {
		return 1
	}
	return int(c.mu.size[r])
}

// membersLocked calls fn on each address of a's cluster, a first, until
// fn returns false.
func (c *Clusterer) membersLocked(a uint32, fn func(uint32) bool) {
	if !fn(a) || int(a) >= len(c.mu.next) {
		return
	}
	for x := c.mu.next[a]; x != a; x = c.mu.next[x] {
		if !fn(x) {
			return
		}
	}
}

// Processed returns the number of transactions processed.
func (c *Clusterer) Processed() uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mu.done
}

// Stats returns what c holds.
func (c *Clusterer) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mu.stats
}

// Root returns the representative of address a's cluster: two addresses
// are one entity when their roots are equal. A root changes with merges.
func (c *Clusterer) Root(a uint32) uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rootLocked(a)
}

// Same reports whether addresses a and b are one entity.
func (c *Clusterer) Same(a, b uint32) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rootLocked(a) == c.rootLocked(b)
}

// Size returns the number of addresses in a's cluster (1: a alone).
func (c *Clusterer) Size(a uint32) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sizeLocked(c.rootLocked(a))
}

// Members returns the address numbers of a's cluster in ascending order,
// the first limit of them when limit > 0, and the cluster's size.
func (c *Clusterer) Members(a uint32, limit int) (members []uint32, size int) {
	c.mu.RLock()
	size = c.sizeLocked(c.rootLocked(a))
	members = make([]uint32, 0, size)
	c.membersLocked(a, func(x uint32) bool { members = append(members, x); return true })
	c.mu.RUnlock()
	slices.Sort(members)
	if limit > 0 && len(members) > limit {
		members = members[:limit:limit]
	}
	return members, size
}

// Merges returns a copy of the merges made, in order.
func (c *Clusterer) Merges() []Merge {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.mu.merges)
}

// Explain returns the merges that make addresses a and b one entity: the
// path from a to b in the spanning forest of merges, each merge oriented
// so that A is the address nearer a (B of one step is A of the next). It
// returns false when a and b are not one entity, and an empty path when a
// == b. It reads every merge once.
func (c *Clusterer) Explain(a, b uint32) ([]Merge, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r := c.rootLocked(a)
	if r != c.rootLocked(b) {
		return nil, false
	}
	if a == b {
		return []Merge{}, true
	}
	// The cluster's edges, as adjacency lists of edge indexes.
	adj := map[uint32][]int{}
	for i, e := range c.mu.merges {
		if c.rootLocked(e.A) == r {
			adj[e.A] = append(adj[e.A], i)
			adj[e.B] = append(adj[e.B], i)
		}
	}
	// Breadth-first from a; via[x] is the edge that reached x.
	via := map[uint32]int{a: -1}
	queue := []uint32{a}
	for len(queue) > 0 && !hasKey(via, b) {
		x := queue[0]
		queue = queue[1:]
		for _, i := range adj[x] {
			e := c.mu.merges[i]
			y := e.A
			if y == x {
				y = e.B
			}
			if !hasKey(via, y) {
				via[y] = i
				queue = append(queue, y)
			}
		}
	}
	if !hasKey(via, b) {
		// The forest says one root but no path: a bug.
		panic(fmt.Sprintf("cluster: addresses %d and %d share root %d without a path of merges", a, b, r))
	}
	var path []Merge
	for x := b; x != a; {
		e := c.mu.merges[via[x]]
		if e.A == x {
			e.A, e.B = e.B, e.A
		}
		path = append(path, e)
		x = e.A
	}
	slices.Reverse(path)
	return path, true
}

func hasKey(m map[uint32]int, k uint32) bool {
	_, ok := m[k]
	return ok
}
