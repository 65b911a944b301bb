package cluster

import "fmt"

// Step is a [Merge] named as the chain shows it: transaction Tx, in the
// block at Height, spends from addresses From and To.
type Step struct {
	Tx     string `json:"tx"`
	Height int32  `json:"height"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// Describe names the transactions and addresses of a path of merges, as
// [Clusterer.Explain] returns it, in its order. It takes g's read lock
// for the transaction records.
func Describe(g Graph, path []Merge) ([]Step, error) {
	steps := make([]Step, len(path))
	g.RLock()
	for i, p := range path {
		steps[i].Tx, steps[i].Height = g.TxHash(p.Tx), g.Tx(p.Tx).Height
	}
	g.RUnlock()
	for i, p := range path {
		var err error
		if steps[i].From, err = g.AddrKey(p.A); err != nil {
			return nil, fmt.Errorf("address number %d: %w", p.A, err)
		}
		if steps[i].To, err = g.AddrKey(p.B); err != nil {
			return nil, fmt.Errorf("address number %d: %w", p.B, err)
		}
	}
	return steps, nil
}
