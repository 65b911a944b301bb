package simulate

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/cointrail/cointrail/internal/trace"
)

// Accuracy is how close one trace of a scenario comes to its ground
// truth.
type Accuracy struct {
	Model trace.Model `json:"model"`
	// Exchanges compares, per labelled exchange, what the trace says
	// reached it with what really did.
	Exchanges []ExchangeAccuracy `json:"exchanges"`
	// Precision is the share of the addresses the trace tainted that the
	// thief really controlled (or deposited to); Recall the share of
	// those the trace tainted.
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	// Tainted counts the addresses the trace tainted; Truth those the
	// thief controlled or deposited to.
	Tainted int `json:"tainted"`
	Truth   int `json:"truth"`
}

// ExchangeAccuracy is one exchange's traced and true receipts of the loot.
type ExchangeAccuracy struct {
	Name   string `json:"name"`
	True   Sat    `json:"true"`
	Traced Sat    `json:"traced"`
}

// Evaluate compares a trace of the scenario's incident with the truth. The
// trace must list every edge (trace.Options.MaxEdges large enough).
func Evaluate(t *Truth, res *trace.Result) (*Accuracy, error) {
	if res.EdgesTruncated {
		return nil, fmt.Errorf("the trace lists only some of its edges: raise MaxEdges")
	}
	acc := &Accuracy{Model: res.Model}
	traced := map[string]*big.Int{}
	for _, e := range res.Endpoints {
		if traced[e.Entity] == nil {
			traced[e.Entity] = new(big.Int)
		}
		traced[e.Entity].Add(traced[e.Entity], e.Amount.Int)
	}
	truth := map[string]bool{}
	for _, o := range t.Controlled {
		truth[o.Address] = true
	}
	for _, x := range t.Exchanges {
		for _, d := range x.Deposits {
			truth[d.Address] = true
		}
		if !x.Labelled {
			continue
		}
		ea := ExchangeAccuracy{Name: x.Name, True: x.Received}
		if v := traced[x.Name]; v != nil {
			ea.Traced = Sat(v.Int64())
		}
		acc.Exchanges = append(acc.Exchanges, ea)
	}
	sort.Slice(acc.Exchanges, func(i, j int) bool { return acc.Exchanges[i].Name < acc.Exchanges[j].Name })
	tainted := map[string]bool{}
	for _, s := range t.Seeds {
		tainted[s.Address] = true
	}
	for _, e := range res.Edges {
		if e.To != "" {
			tainted[e.To] = true
		}
	}
	hit := 0
	for a := range tainted {
		if truth[a] {
			hit++
		}
	}
	acc.Tainted, acc.Truth = len(tainted), len(truth)
	if len(tainted) > 0 {
		acc.Precision = float64(hit) / float64(len(tainted))
	}
	if len(truth) > 0 {
		acc.Recall = float64(hit) / float64(len(truth))
	}
	return acc, nil
}

// Table writes accuracies as a Markdown table: per model, each exchange's
// traced amount against the true one (as a percentage), precision and
// recall.
func Table(accs []*Accuracy) string {
	if len(accs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| model |")
	for _, x := range accs[0].Exchanges {
		fmt.Fprintf(&b, " %s: traced / true |", x.Name)
	}
	b.WriteString(" tainted addresses | precision | recall |\n|---|")
	for range accs[0].Exchanges {
		b.WriteString("---:|")
	}
	b.WriteString("---:|---:|---:|\n")
	for _, a := range accs {
		fmt.Fprintf(&b, "| %s |", a.Model)
		for _, x := range a.Exchanges {
			pct := 0.0
			if x.True > 0 {
				pct = 100 * float64(x.Traced) / float64(x.True)
			}
			fmt.Fprintf(&b, " %d / %d (%.1f%%) |", x.Traced, x.True, pct)
		}
		fmt.Fprintf(&b, " %d (truth %d) | %.3f | %.3f |\n", a.Tainted, a.Truth, a.Precision, a.Recall)
	}
	return b.String()
}
