package cluster

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/trace"
)

// DerivedConfidenceDivisor is the one rule for the confidence of a label
// an address does not carry itself but gets from another address (the
// cluster it is in, or the exchange wallet it forwards to): the carrier
// label's confidence divided by it, rounded down. The inference can be
// wrong (an undetected CoinJoin merges strangers, a payment can look like
// a sweep), so a derived label never ranks with a label from a source.
const DerivedConfidenceDivisor = 2

// DerivedConfidence returns the confidence of a label derived from one of
// confidence c ([DerivedConfidenceDivisor]). A label without a confidence
// gives one without a confidence: there is nothing to reduce, and its
// Via and Note say it is derived.
func DerivedConfidence(c *int) *int {
	if c == nil {
		return nil
	}
	d := *c / DerivedConfidenceDivisor
	return &d
}

// Where a [Label] comes from.
const (
	// ViaOwn: a labelling source labels the address itself.
	ViaOwn = "own"
	// ViaCluster: another address of its cluster carries the label.
	ViaCluster = "cluster"
	// ViaDeposit: the address forwards what it receives to an exchange
	// wallet, which carries the label (see [Labeler.Deposit]).
	ViaDeposit = "deposit"
)

// Label is the label of an address: its own, or one derived from another
// address with a reduced confidence ([DerivedConfidence]) and a note that
// says how.
type Label struct {
	trace.Label
	// Via is ViaOwn, ViaCluster or ViaDeposit.
	Via string `json:"via"`
	// Carrier is the address key that carries the label (for ViaOwn, the
	// address itself).
	Carrier string `json:"carrier"`
	// ClusterSize is the size of the address's cluster (ViaCluster).
	ClusterSize int `json:"cluster_size,omitempty"`
	// Conflicts counts the other labelled addresses of the cluster that
	// name another entity (ViaCluster): a sign of a wrong merge.
	Conflicts int `json:"conflicts,omitempty"`
	// Tx is the transaction that is the reason (ViaDeposit: the
	// forwarding).
	Tx string `json:"tx,omitempty"`
	// Note says in words where a derived label comes from.
	Note string `json:"note,omitempty"`
}

// Labeler labels addresses with a set of wallet labels, through the
// clusters of a [Clusterer] and, on account chains, the deposit-address
// heuristic. It reads the clusters as they are at each call. It is safe
// for concurrent use.
type Labeler struct {
	c *Clusterer
	g Graph
	// own holds the labels by address number, keys their address keys,
	// and nums the labelled numbers in ascending order.
	own  map[uint32]trace.Label
	keys map[uint32]string
	nums []uint32
	// exchanges are the labelled addresses of category ExchangeCategory.
	exchanges map[uint32]bool
}

// NewLabeler returns a Labeler of c's addresses with labels, a map from
// address key to label such as [trace.LabelsFor] returns. A label on an
// address the index has never seen is left out: nothing can reach it.
func NewLabeler(c *Clusterer, labels map[string]trace.Label) (*Labeler, error) {
	l := &Labeler{c: c, g: c.g, own: map[uint32]trace.Label{}, keys: map[uint32]string{}, exchanges: map[uint32]bool{}}
	for key, lab := range labels {
		n, err := l.g.AddrNum(key)
		if errors.Is(err, chain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: label of %s: %w", key, err)
		}
		if k, dup := l.keys[n]; dup && k < key {
			// Two keys of one number (spellings the index folds
			// together): keep one, the same one every time.
			continue
		}
		l.own[n], l.keys[n] = lab, key
		if lab.Category == ExchangeCategory {
			l.exchanges[n] = true
		} else {
			delete(l.exchanges, n)
		}
	}
	for n := range l.own {
		l.nums = append(l.nums, n)
	}
	slices.Sort(l.nums)
	return l, nil
}

// LabelOf returns the label of address number a: its own label, or else
// the best label of its cluster, or else (on an account chain) the label
// the deposit-address heuristic derives; false when there is none.
func (l *Labeler) LabelOf(a uint32) (Label, bool) {
	if lab, ok := l.own[a]; ok {
		return Label{Label: lab, Via: ViaOwn, Carrier: l.keys[a]}, true
	}
	if lab, ok := l.ClusterLabel(a); ok {
		return lab, true
	}
	return l.Deposit(a)
}

// ClusterLabel returns the label that address a gets from the other
// addresses of its cluster: the most confident label among them (a label
// without a confidence ranks lowest; ties go to the lowest address
// number), its confidence reduced by [DerivedConfidence], with a note
// naming the cluster's size and the address that carries it. False when
// no other address of the cluster is labelled.
func (l *Labeler) ClusterLabel(a uint32) (Label, bool) {
	c := l.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	r := c.rootLocked(a)
	size := c.sizeLocked(r)
	if size < 2 || len(l.nums) == 0 {
		return Label{}, false
	}
	var found []uint32
	if size < len(l.nums) {
		c.membersLocked(a, func(x uint32) bool {
			if _, ok := l.own[x]; ok && x != a {
				found = append(found, x)
			}
			return true
		})
		slices.Sort(found)
	} else {
		for _, x := range l.nums {
			if x != a && c.rootLocked(x) == r {
				found = append(found, x)
			}
		}
	}
	if len(found) == 0 {
		return Label{}, false
	}
	best := found[0]
	for _, x := range found[1:] {
		if rank(l.own[x]) > rank(l.own[best]) {
			best = x
		}
	}
	lab := l.own[best]
	conflicts := 0
	for _, x := range found {
		if l.own[x].Entity != lab.Entity {
			conflicts++
		}
	}
	key := l.keys[best]
	note := fmt.Sprintf("via cluster of %d addresses, label on %s", size, key)
	switch {
	case conflicts == 1:
		note += "; 1 other labelled address of the cluster names another entity"
	case conflicts > 1:
		note += fmt.Sprintf("; %d other labelled addresses of the cluster name other entities", conflicts)
	}
	lab.Confidence = DerivedConfidence(lab.Confidence)
	return Label{Label: lab, Via: ViaCluster, Carrier: key, ClusterSize: size, Conflicts: conflicts, Note: note}, true
}

// rank orders labels for ClusterLabel: by confidence, none lowest.
func rank(l trace.Label) int {
	if l.Confidence == nil {
		return -1
	}
	return *l.Confidence
}
