package cluster

import (
	"context"
	"sync"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/fault"
)

// Index keeps a Clusterer for each UTXO chain of a chain index, brought
// up to date with the graph whenever it is asked (an Update with nothing
// new costs a pass over the fingerprints only).
type Index struct {
	st *chainstore.Store

	mu  sync.Mutex
	by  map[string]*Clusterer
	gen map[string]uint32 // NumTx at the last update
}

// NewIndex returns the clusters of st's chains.
func NewIndex(st *chainstore.Store) *Index {
	return &Index{st: st, by: map[string]*Clusterer{}, gen: map[string]uint32{}}
}

// Clusterer returns chainID's clusterer, up to date with the graph; nil
// for a chain the index does not hold or an account chain.
func (x *Index) Clusterer(ctx context.Context, chainID string) (*Clusterer, error) {
	info, ok := chain.Lookup(chainID)
	if !ok || info.Model != chain.UTXO {
		return nil, nil
	}
	g := x.st.Graph(chainID)
	if g == nil {
		return nil, nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	c := x.by[chainID]
	if c == nil {
		c = New(g)
		x.by[chainID] = c
	}
	g.RLock()
	n := g.NumTx()
	g.RUnlock()
	if n != x.gen[chainID] || c.Processed() != n {
		if _, err := c.Update(ctx); err != nil {
			return nil, err
		}
		x.gen[chainID] = n
	}
	return c, nil
}

// Cluster returns up to limit other addresses of addr's cluster and the
// cluster's size (1 when addr stands alone). An address the index has
// never seen is not found.
func (x *Index) Cluster(ctx context.Context, chainID, addr string, limit int) ([]string, int, error) {
	c, err := x.Clusterer(ctx, chainID)
	if err != nil || c == nil {
		return nil, 1, err
	}
	g := x.st.Graph(chainID)
	a, err := g.AddrNum(addr)
	if err != nil {
		return nil, 1, fault.Wrap(fault.NotFound, err, "address %s is not in the chain index", addr)
	}
	nums, size := c.Members(a, limit+1)
	var out []string
	for _, m := range nums {
		if m == a || len(out) >= limit {
			continue
		}
		key, err := g.AddrKey(m)
		if err != nil {
			continue
		}
		out = append(out, key)
	}
	return out, max(size, 1), nil
}
