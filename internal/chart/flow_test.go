package chart_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/chart"
	"github.com/cointrail/cointrail/internal/trace"
)

func amount(x int64) trace.Amount { return trace.Amount{Int: big.NewInt(x)} }

// peelAndMix is a trace by hand: a thief's 10,000 sat peeled along
// peel1, peel2, peel3 (transactions t2 and t3 annotated as a peel chain),
// 3,000 of it through a CoinJoin (t4) to a mixer, and three services
// reached: Binance at hops 1 and 4, ChipMixer and Kraken at hop 3. The
// last transaction (t6) consolidates peel3 (hop 3) and cj2 (hop 2).
func peelAndMix() *trace.Result {
	e := func(tx string, from []string, to string, a int64, hop int) trace.Edge {
		return trace.Edge{Tx: tx, From: from, To: to, Amount: amount(a), Hop: hop}
	}
	return &trace.Result{
		Chain: "bitcoin", Model: trace.FIFO, Asset: "bitcoin:BTC",
		Seeds:   []trace.SeedResult{{Seed: trace.Seed{Kind: trace.SeedAddress, Address: "thief", Asset: "bitcoin:BTC"}, Tainted: amount(10_000)}},
		Tainted: amount(10_000),
		Endpoints: []trace.Endpoint{
			{Address: "binance-1", Entity: "Binance", Category: "exchange", Amount: amount(4_700), Hops: 1},
			{Address: "chipmixer-1", Entity: "ChipMixer", Category: "mixing_service", Amount: amount(1_500), Hops: 3},
			{Address: "kraken-1", Entity: "Kraken", Category: "exchange", Amount: amount(400), Hops: 3},
		},
		Edges: []trace.Edge{
			e("t1", []string{"thief"}, "peel1", 4_000, 1),
			e("t1", []string{"thief"}, "mixin", 3_000, 1),
			e("t1", []string{"thief"}, "binance-1", 500, 1),
			e("t2", []string{"peel1"}, "peel2", 3_400, 2),
			e("t2", []string{"peel1"}, "drop1", 580, 2),
			e("t3", []string{"peel2"}, "peel3", 2_900, 3),
			e("t3", []string{"peel2"}, "kraken-1", 400, 3),
			e("t4", []string{"mixin"}, "cj1", 1_500, 2),
			e("t4", []string{"mixin"}, "cj2", 1_400, 2),
			e("t5", []string{"cj1"}, "chipmixer-1", 1_500, 3),
			e("t6", []string{"peel3", "cj2"}, "binance-1", 4_200, 4),
		},
		Annotations: []trace.Annotation{
			{Tx: "t2", Kinds: []string{"peel-chain"}, PeelLength: 3},
			{Tx: "t3", Kinds: []string{"peel-chain"}, PeelLength: 3},
			{Tx: "t4", Kinds: []string{"coinjoin-wasabi-2.0"}},
		},
	}
}

// band is a drawn band: its width and the amount of its tooltip.
type band struct {
	title string
	w     float64
	sat   float64
}

// MustBands returns the bands of a flow diagram, reading each width from
// its path ("M x y0 C ... L ... Z" ends at y0+w) and each amount from its
// tooltip ("from → to: 1,234 sat").
func MustBands(tb testing.TB, root *elem) []band {
	tb.Helper()
	var out []band
	for _, p := range root.all("path", "band") {
		f := strings.FieldsFunc(p.attr["d"], func(r rune) bool { return r == ' ' || (r >= 'A' && r <= 'Z') })
		y0, err1 := strconv.ParseFloat(f[1], 64)
		y1, err2 := strconv.ParseFloat(f[len(f)-1], 64)
		_, a, _ := strings.Cut(p.title(), ": ")
		sat, err3 := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSuffix(a, " sat"), ",", ""), 64)
		if err1 != nil || err2 != nil || err3 != nil {
			tb.Fatalf("band %q %q", p.attr["d"], p.title())
		}
		out = append(out, band{p.title(), y1 - y0, sat})
	}
	return out
}

func TestFlow(t *testing.T) {
	hostileRes := peelAndMix()
	hostileRes.Endpoints[1].Entity = hostile
	hostileRes.Endpoints[1].Category = `mix"ing`
	hostileRes.Edges[7].To = `cj1"><script>x</script>`
	hostileRes.Edges[9].From = []string{`cj1"><script>x</script>`}
	hostileRes.Annotations = append(hostileRes.Annotations, trace.Annotation{Tx: hostile, Kinds: []string{hostile}})

	repeats := &trace.Result{
		Asset:          "bitcoin:BTC",
		Endpoints:      []trace.Endpoint{{Address: "ex", Entity: "Ex", Category: "exchange", Amount: amount(70)}},
		EdgesTruncated: true,
		Edges: []trace.Edge{
			{Tx: "a", From: []string{"A"}, To: "B", Amount: amount(100), Hop: 1},
			{Tx: "b", From: []string{"B"}, To: "A", Amount: amount(90), Hop: 2},
			{Tx: "c", From: []string{"A", "A"}, To: "B", Amount: amount(80), Hop: 3},
			{Tx: "d", From: []string{"B"}, To: "ex", Amount: amount(70), Hop: 4},
			{Tx: "e", From: []string{"B"}, To: "B", Amount: amount(5), Hop: 4},
			{Tx: "f", From: nil, To: "", Amount: amount(3), Hop: 1},
			{Tx: "z", From: []string{"B"}, To: "ex", Amount: trace.Amount{}, Hop: 5},
		},
	}

	href := func(a string) string {
		if strings.HasPrefix(a, "peel") {
			return "javascript:alert(1)"
		}
		return "/addresses/" + url.PathEscape(a)
	}
	for _, tc := range []struct {
		name    string
		res     *trace.Result
		opts    chart.FlowOptions
		bands   int
		nodes   int
		links   int
		peel    int // nodes marked
		coin    int
		texts   []string // somewhere in the chart
		widest  string   // the widest band's tooltip
		escaped bool
	}{
		{
			name:  "peel and mix",
			res:   peelAndMix(),
			opts:  chart.FlowOptions{Unit: "sat"},
			bands: 12, nodes: 11, peel: 4, coin: 2,
			texts:  []string{"Binance (exchange)", "4,700 sat", "ChipMixer (mixing_service)", "Kraken (exchange)", "paid by a peel chain", "paid by a CoinJoin"},
			widest: "thief → peel1: 4,000 sat",
		},
		{
			name:  "links",
			res:   peelAndMix(),
			opts:  chart.FlowOptions{Unit: "sat", Href: href, Width: 720},
			bands: 12, nodes: 11, peel: 4, coin: 2,
			links: 11 - 3, // no link for peel1, peel2, peel3
		},
		{
			name:  "hostile",
			res:   hostileRes,
			opts:  chart.FlowOptions{Unit: "sat", Href: href},
			bands: 12, nodes: 11, peel: 4, coin: 2, links: 8,
			escaped: true,
		},
		{
			name: "repeats and truncated",
			res:  repeats,
			opts: chart.FlowOptions{Unit: "sat"},
			// A0→B1, B1→A2, A2→B3, B3→ex, B3→B4, (none)0→(none)1.
			bands: 6, nodes: 8,
			texts: []string{"truncated", "(no address)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := chart.Flow(tc.res, tc.opts)
			root := MustParse(t, doc)
			MustBeSafe(t, root)
			bands := MustBands(t, root)
			if len(bands) != tc.bands {
				t.Errorf("%d bands, want %d", len(bands), tc.bands)
			}
			if got := len(root.all("rect", "node")); got != tc.nodes {
				t.Errorf("%d nodes, want %d", got, tc.nodes)
			}
			if got := len(root.all("a", "")); got != tc.links {
				t.Errorf("%d links, want %d", got, tc.links)
			}
			if got := len(root.all("path", "peel")) - boolInt(tc.peel > 0); got != tc.peel {
				t.Errorf("%d peel markers (legend aside), want %d", got, tc.peel)
			}
			if got := len(root.all("circle", "coinjoin")) - boolInt(tc.coin > 0); got != tc.coin {
				t.Errorf("%d CoinJoin markers (legend aside), want %d", got, tc.coin)
			}
			text := root.texts()
			for _, want := range tc.texts {
				if !strings.Contains(text, want) {
					t.Errorf("no %q in the chart", want)
				}
			}
			// Widths are proportional to amounts: one scale for all.
			var widest band
			for _, b := range bands {
				if b.w > widest.w {
					widest = b
				}
			}
			k := widest.w / widest.sat
			for _, b := range bands {
				if want := max(b.sat*k, 0.5); math.Abs(b.w-want) > 0.15 {
					t.Errorf("band %q is %.1f wide, want %.1f", b.title, b.w, want)
				}
			}
			if tc.widest != "" && widest.title != tc.widest {
				t.Errorf("widest band %q, want %q", widest.title, tc.widest)
			}
			if tc.escaped {
				MustBeEscaped(t, doc, root)
			}
			if !bytes.Equal(doc, chart.Flow(tc.res, tc.opts)) {
				t.Errorf("output differs between two runs")
			}
			MustMatchGolden(t, "flow-"+strings.ReplaceAll(tc.name, " ", "-")+".svg", doc)
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFlowEmpty checks that a trace that moved nothing gives a short
// chart that says so.
func TestFlowEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  *trace.Result
	}{
		{"nil", nil},
		{"no edges", &trace.Result{Asset: "bitcoin:BTC", Tainted: amount(5)}},
		{"zero edges", &trace.Result{Edges: []trace.Edge{{Tx: "a", From: []string{"x"}, To: "y", Hop: 1}, {Tx: "b", From: []string{"x"}, To: "y", Amount: amount(0), Hop: 1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := chart.Flow(tc.res, chart.FlowOptions{})
			root := MustParse(t, doc)
			MustBeSafe(t, root)
			if !strings.Contains(root.texts(), "Nothing traced") || len(root.all("path", "band")) != 0 {
				t.Errorf("empty trace drawn as\n%s", doc)
			}
			if tc.name == "nil" {
				MustMatchGolden(t, "flow-empty.svg", doc)
			}
		})
	}
}

// bigTrace is a synthetic trace of n edges over 12 hops: each edge pays
// a new address from one at the hop before (or two, a consolidation),
// and one edge in eight pays one of 40 exchanges.
func bigTrace(n int) *trace.Result {
	rng := rand.New(rand.NewPCG(1, 2))
	res := &trace.Result{Asset: "bitcoin:BTC", Tainted: amount(int64(n) * 1000)}
	for i := range 40 {
		res.Endpoints = append(res.Endpoints, trace.Endpoint{
			Address: fmt.Sprintf("bc1qexchange%02dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i), Entity: fmt.Sprintf("Exchange %d", i), Category: "exchange"})
	}
	byHop := [][]string{{"bc1qthiefxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}
	for i := range n {
		hop := 1 + rng.IntN(12)
		for len(byHop) < hop {
			byHop = append(byHop, []string{fmt.Sprintf("bc1qfill%dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", len(byHop))})
		}
		prev := byHop[hop-1]
		from := []string{prev[rng.IntN(len(prev))]}
		if rng.IntN(10) == 0 {
			from = append(from, prev[rng.IntN(len(prev))])
		}
		to := fmt.Sprintf("bc1q%046d", i)
		if rng.IntN(8) == 0 {
			to = res.Endpoints[rng.IntN(40)].Address
		} else {
			for len(byHop) <= hop {
				byHop = append(byHop, nil)
			}
			byHop[hop] = append(byHop[hop], to)
		}
		res.Edges = append(res.Edges, trace.Edge{Tx: fmt.Sprintf("tx%d", i/3), From: from, To: to, Amount: amount(1 + rng.Int64N(1e8)), Hop: hop})
	}
	return res
}

// TestFlowFold checks that thousands of edges are folded into at most
// MaxNodes addresses plus an "other" node per column, and stay small.
func TestFlowFold(t *testing.T) {
	res := bigTrace(5000)
	for _, maxNodes := range []int{0, 20, 100} {
		t.Run(fmt.Sprint(maxNodes), func(t *testing.T) {
			doc := chart.Flow(res, chart.FlowOptions{MaxNodes: maxNodes, Unit: "sat", Href: func(a string) string { return "/a/" + a }})
			if len(doc) > 200_000 {
				t.Errorf("%d bytes", len(doc))
			}
			root := MustParse(t, doc)
			MustBeSafe(t, root)
			want := maxNodes
			if want == 0 {
				want = 60
			}
			var others int
			for _, n := range root.all("rect", "node") {
				if strings.HasPrefix(n.title(), "other") {
					others++
				}
			}
			nodes := len(root.all("rect", "node"))
			if others == 0 || nodes-others != want || others > 14 {
				t.Errorf("%d nodes, %d of them other; want %d addresses and an other node per column", nodes, others, want)
			}
			if !strings.Contains(root.texts(), "folded") {
				t.Errorf("no note of the folding")
			}
			if !bytes.Equal(doc, chart.Flow(res, chart.FlowOptions{MaxNodes: maxNodes, Unit: "sat", Href: func(a string) string { return "/a/" + a }})) {
				t.Errorf("output differs between two runs")
			}
		})
	}
}

func BenchmarkFlow(b *testing.B) {
	res := bigTrace(5000)
	var size int
	for b.Loop() {
		size = len(chart.Flow(res, chart.FlowOptions{Unit: "sat"}))
	}
	b.ReportMetric(float64(size), "bytes/chart")
}

// TestFlowRealTrace draws a trace the tracer computed, over an in-memory
// chain index: a thief's 100,000 sat peeled four times, each peel paying
// an exchange (whose deposits end the trace there) or an address.
func TestFlowRealTrace(t *testing.T) {
	st := MustChain(t, "bitcoin-regtest", func(add func(name string, ins []string, outs ...out)) {
		add("cb", nil, out{"thief", 100_000})
		prev, value := "cb:0", int64(100_000)
		for i, drop := range []string{"exchange-a", "drop-b", "exchange-c", "drop-d"} {
			value -= 1000 + 10
			name := fmt.Sprintf("peel%d", i+1)
			add(name, []string{prev}, out{drop, 1000}, out{"change-" + name, value})
			prev = name + ":1"
		}
	})
	res, err := trace.New(st).Trace(context.Background(), "bitcoin-regtest", []trace.Seed{{Kind: trace.SeedTx, Tx: txHash("cb")}}, trace.Options{
		Labels: map[string]trace.Label{"exchange-a": {Entity: "Exchange A", Category: "exchange"}, "exchange-c": {Entity: "Exchange C", Category: "exchange"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Edges) != 8 || len(res.Endpoints) != 2 || len(res.Annotations) == 0 {
		t.Fatalf("trace: %d edges, %d endpoints, annotations %+v", len(res.Edges), len(res.Endpoints), res.Annotations)
	}
	doc := chart.Flow(res, chart.FlowOptions{Unit: "sat"})
	root := MustParse(t, doc)
	MustBeSafe(t, root)
	// Each edge pays one address from one: a band each.
	if got := len(MustBands(t, root)); got != len(res.Edges) {
		t.Errorf("%d bands for %d edges", got, len(res.Edges))
	}
	if len(root.all("path", "peel")) < 2 {
		t.Errorf("no peel-chain marker")
	}
	for _, want := range []string{"Exchange A (exchange)", "Exchange C (exchange)", "1,000 sat"} {
		if !strings.Contains(root.texts(), want) {
			t.Errorf("no %q in the chart", want)
		}
	}
	MustMatchGolden(t, "flow-real-trace.svg", doc)
}

// out is a transaction output: an address and a value.
type out struct {
	addr  string
	value int64
}

func txHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// MustChain returns an in-memory chain index holding one block per
// transaction that build adds: name spends the outputs ins ("name:vout";
// nil for a coinbase) and pays outs.
func MustChain(tb testing.TB, chainID string, build func(add func(name string, ins []string, outs ...out))) *chainstore.Store {
	tb.Helper()
	st, err := chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	var height int64
	parent := txHash("genesis-parent")
	build(func(name string, ins []string, outs ...out) {
		tb.Helper()
		tx := chain.Tx{Hash: txHash(name), Coinbase: ins == nil}
		for _, in := range ins {
			n, v, _ := strings.Cut(in, ":")
			idx, err := strconv.Atoi(v)
			if err != nil {
				tb.Fatalf("input %q", in)
			}
			tx.Inputs = append(tx.Inputs, chain.Input{Prev: chain.Outpoint{Tx: txHash(n), Index: uint32(idx)}})
		}
		for j, o := range outs {
			tx.Outputs = append(tx.Outputs, chain.Output{Index: uint32(j), Value: o.value, Kind: "p2wpkh", Address: o.addr, Key: o.addr})
		}
		h := txHash("block-" + strconv.FormatInt(height, 10))
		blk := &chain.Block{Chain: chainID, Height: height, Hash: h, Parent: parent,
			Time: time.Date(2018, 1, 26, 0, 0, 0, 0, time.UTC).Add(time.Duration(height) * 10 * time.Minute), Txs: []chain.Tx{tx}}
		if err := st.Apply(context.Background(), blk); err != nil {
			tb.Fatalf("apply block %d: %v", height, err)
		}
		parent = h
		height++
	})
	return st
}
