package chart

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/cointrail/cointrail/internal/trace"
)

// FlowOptions configure [Flow]. The zero value is valid.
type FlowOptions struct {
	// Title names the chart for screen readers. Default: "Flow of traced
	// funds".
	Title string
	// Width is the width of the viewBox; the height follows from the
	// nodes. Default: 960.
	Width int
	// MaxNodes bounds the addresses drawn, so that a trace of thousands
	// of edges stays readable and small: the endpoints with the most
	// value (up to half of MaxNodes), then the other addresses with the
	// most, are drawn; the rest of each column is folded into one "other"
	// node. Default: 60; at most 300.
	MaxNodes int
	// Href, if set, returns the link of an address's node ("" for none).
	// Only relative and http(s) URLs are kept.
	Href func(address string) string
	// Unit names the base unit ("sat", "wei") after amounts when Format is
	// not set.
	Unit string
	// Format writes an amount given in base units as a decimal string
	// ("150000000" as "1.5 BTC", say). Default: the base units with
	// thousands separators, then Unit.
	Format func(base string) string
}

// The marks a node can carry: the shapes (annotations) of the
// transactions that paid it.
const (
	markPeel = 1 << iota
	markCoinJoin
)

// Flow draws a trace as a flow (Sankey) diagram in SVG: the seeds'
// addresses at the left, each address the taint went through in the
// column of its hop, and the labelled services it reached (the
// endpoints) in the rightmost column, labelled with entity and category.
// A band joins two nodes for the taint that went from one to the other;
// its width is proportional to the amount. Addresses paid by a peel-chain
// or a CoinJoin transaction carry a marker the legend explains.
//
// An address met at several hops is drawn once per hop (its column), so
// that repeated addresses and cycles still flow left to right. The amount
// of an edge with several input addresses is split between them in
// proportion to what each received, as the trace does not say which paid
// what. An empty result gives a
// short "nothing traced" chart; a truncated edge list is noted below the
// diagram.
func Flow(res *trace.Result, o FlowOptions) []byte {
	if o.Title == "" {
		o.Title = "Flow of traced funds"
	}
	w := float64(o.Width)
	if w <= 0 {
		w = 960
	}
	maxNodes := min(cmp.Or(o.MaxNodes, 60), 300)
	if maxNodes < 2 {
		maxNodes = 2
	}
	format := o.Format
	if format == nil {
		format = func(base string) string { return strings.TrimSpace(groupDigits(base) + " " + o.Unit) }
	}
	g := buildFlow(res)
	if len(g.links) == 0 {
		return message(o.Title, flowDesc(res, g, format), "Nothing traced", w)
	}
	g.fold(maxNodes)
	return g.draw(o, w, format, flowDesc(res, g, format))
}

// flowNode is a node of a flow diagram: an address in a column, or the
// "other" node of a column.
type flowNode struct {
	addr string
	col  int
	end  *trace.Endpoint
	// folded counts the addresses of an "other" node (0 for others).
	folded int
	other  bool
	marks  int
	in     *big.Int
	out    *big.Int
	// value is the larger of in and out, as a float for the geometry.
	value float64
	// y and h are the node's top and height; lin and lout how much of its
	// height incoming and outgoing bands already use.
	y, h, lin, lout float64
}

// flowLink is the taint from node src to node dst.
type flowLink struct {
	src, dst int
	amount   *big.Int
	w        float64
	sy, dy   float64
}

// flowGraph is the diagram of a trace, before and after folding.
type flowGraph struct {
	nodes []*flowNode
	links []*flowLink
	ncol  int
	// edges counts the edges drawn, hops their deepest hop, foldedAddrs
	// the addresses folded.
	edges, hops, foldedAddrs int
	truncated                bool
	// ends says the rightmost column is the endpoints'.
	ends           bool
	peel, coinJoin bool
}

// nodeKey identifies a node while building: an address in a column
// (endCol for the endpoints' column, resolved once all columns are
// known).
type nodeKey struct {
	addr string
	col  int
}

const endCol = -1

// buildFlow turns res's edges into nodes and links.
func buildFlow(res *trace.Result) *flowGraph {
	g := &flowGraph{}
	if res == nil {
		return g
	}
	g.truncated = res.EdgesTruncated
	ends := map[string]*trace.Endpoint{}
	for i := range res.Endpoints {
		e := &res.Endpoints[i]
		if _, ok := ends[e.Address]; !ok {
			ends[e.Address] = e
		}
	}
	marks := map[string]int{}
	for _, a := range res.Annotations {
		for _, k := range a.Kinds {
			switch {
			case k == "peel-chain":
				marks[a.Tx] |= markPeel
			case strings.HasPrefix(k, "coinjoin"):
				marks[a.Tx] |= markCoinJoin
			}
		}
	}
	index := map[nodeKey]int{}
	// cols lists the columns of each address's nodes, in increasing
	// order.
	cols := map[string][]int{}
	node := func(k nodeKey) int {
		if i, ok := index[k]; ok {
			return i
		}
		n := &flowNode{addr: k.addr, col: k.col, in: new(big.Int), out: new(big.Int)}
		if k.col == endCol {
			n.end = ends[k.addr]
		} else {
			c := cols[k.addr]
			j, _ := slices.BinarySearch(c, k.col)
			cols[k.addr] = slices.Insert(c, j, k.col)
		}
		index[k] = len(g.nodes)
		g.nodes = append(g.nodes, n)
		return index[k]
	}
	// source returns the node that address f pays from in column col:
	// its node there, else its nearest node to the left (the taint of a
	// transaction's inputs may have come in at different hops), else a
	// new one.
	source := func(f string, col int) int {
		if i, ok := index[nodeKey{f, col}]; ok {
			return i
		}
		c := cols[f]
		if j, _ := slices.BinarySearch(c, col); j > 0 {
			return index[nodeKey{f, c[j-1]}]
		}
		return node(nodeKey{f, col})
	}
	type linkKey struct{ src, dst int }
	links := map[linkKey]*flowLink{}
	var srcs []int
	var shares []*big.Int
	for _, e := range res.Edges {
		if e.Amount.Int == nil || e.Amount.Sign() <= 0 {
			continue
		}
		g.edges++
		g.hops = max(g.hops, e.Hop)
		col := max(e.Hop, 1) - 1
		dk := nodeKey{e.To, col + 1}
		if ends[e.To] != nil {
			dk.col = endCol
		}
		srcs = srcs[:0]
		for _, f := range e.From {
			if src := source(f, col); !slices.Contains(srcs, src) {
				srcs = append(srcs, src)
			}
		}
		if len(srcs) == 0 {
			srcs = append(srcs, source("", col))
		}
		dst := node(dk)
		g.nodes[dst].marks |= marks[e.Tx]
		shares = g.split(e.Amount.Int, srcs, shares[:0])
		for i, src := range srcs {
			l := links[linkKey{src, dst}]
			if l == nil {
				l = &flowLink{src: src, dst: dst, amount: new(big.Int)}
				links[linkKey{src, dst}] = l
				g.links = append(g.links, l)
			}
			l.amount.Add(l.amount, shares[i])
			g.nodes[dst].in.Add(g.nodes[dst].in, shares[i])
		}
	}
	// The endpoints' column is right of every other node's.
	last := 0
	for _, n := range g.nodes {
		last = max(last, n.col)
	}
	g.ncol = last + 1
	for _, n := range g.nodes {
		if n.col == endCol {
			n.col = last + 1
			g.ncol = last + 2
			g.ends = true
		}
	}
	g.sum()
	return g
}

// split splits amount, paid from the nodes srcs together, between them:
// in proportion to what each received so far, the best guess of what each
// paid, or evenly when one of them received nothing that the trace
// shows (a seed). The shares add up to amount exactly: the remainder
// goes to the first.
func (g *flowGraph) split(amount *big.Int, srcs []int, shares []*big.Int) []*big.Int {
	if len(srcs) == 1 {
		return append(shares, amount)
	}
	total := new(big.Int)
	for _, s := range srcs {
		if g.nodes[s].in.Sign() == 0 {
			total.SetInt64(0)
			break
		}
		total.Add(total, g.nodes[s].in)
	}
	rest := new(big.Int).Set(amount)
	for _, s := range srcs {
		sh := new(big.Int)
		if total.Sign() > 0 {
			sh.Mul(amount, g.nodes[s].in).Quo(sh, total)
		} else {
			sh.Quo(amount, big.NewInt(int64(len(srcs))))
		}
		rest.Sub(rest, sh)
		shares = append(shares, sh)
	}
	shares[0].Add(shares[0], rest)
	return shares
}

// sum computes each node's in, out and value from the links.
func (g *flowGraph) sum() {
	for _, n := range g.nodes {
		n.in.SetInt64(0)
		n.out.SetInt64(0)
	}
	for _, l := range g.links {
		g.nodes[l.src].out.Add(g.nodes[l.src].out, l.amount)
		g.nodes[l.dst].in.Add(g.nodes[l.dst].in, l.amount)
	}
	for _, n := range g.nodes {
		m := n.in
		if n.out.Cmp(m) > 0 {
			m = n.out
		}
		n.value = toFloat(m)
	}
}

// toFloat converts an amount for the geometry (never for the text).
func toFloat(x *big.Int) float64 {
	f, _ := new(big.Float).SetInt(x).Float64()
	return f
}

// fold keeps at most maxNodes addresses: the endpoints with the most value
// (up to half), then the other nodes with the most; the rest of each
// column goes to that column's "other" node.
func (g *flowGraph) fold(maxNodes int) {
	if len(g.nodes) <= maxNodes {
		return
	}
	order := make([]int, len(g.nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		na, nb := g.nodes[a], g.nodes[b]
		return cmp.Or(cmp.Compare(nb.value, na.value), cmp.Compare(na.col, nb.col), strings.Compare(na.addr, nb.addr))
	})
	keep := make([]bool, len(g.nodes))
	budget, ends := maxNodes, maxNodes/2
	for _, i := range order {
		if g.nodes[i].end != nil && ends > 0 {
			keep[i] = true
			ends--
			budget--
		}
	}
	for _, i := range order {
		if budget == 0 {
			break
		}
		if !keep[i] {
			keep[i] = true
			budget--
		}
	}

	var nodes []*flowNode
	newID := make([]int, len(g.nodes))
	for i, n := range g.nodes {
		if keep[i] {
			newID[i] = len(nodes)
			nodes = append(nodes, n)
		}
	}
	others := map[int]int{}
	for i, n := range g.nodes {
		if keep[i] {
			continue
		}
		o, ok := others[n.col]
		if !ok {
			o = len(nodes)
			others[n.col] = o
			nodes = append(nodes, &flowNode{col: n.col, other: true, in: new(big.Int), out: new(big.Int)})
		}
		nodes[o].folded++
		nodes[o].marks |= n.marks
		newID[i] = o
		g.foldedAddrs++
	}
	type linkKey struct{ src, dst int }
	index := map[linkKey]*flowLink{}
	var links []*flowLink
	for _, l := range g.links {
		k := linkKey{newID[l.src], newID[l.dst]}
		if m := index[k]; m != nil {
			m.amount.Add(m.amount, l.amount)
			continue
		}
		m := &flowLink{src: k.src, dst: k.dst, amount: new(big.Int).Set(l.amount)}
		index[k] = m
		links = append(links, m)
	}
	g.nodes, g.links = nodes, links
	g.sum()
}

// Layout of a flow diagram.
const (
	flowNodeW  = 10.0
	flowGap    = 10.0
	flowMinH   = 2.0
	flowLineH  = 14.0
	flowTop    = 12.0
	seedColour = "#b2182b"
	midColour  = "#6b7280"
	bandColour = "#9fb3c8"
)

// flowLabel is the label of a seed or endpoint node: its name and its
// amount, on two lines.
type flowLabel struct {
	node        int
	name, value string
	y           float64 // of the first line's top
}

// draw lays the graph out and writes it.
func (g *flowGraph) draw(o FlowOptions, w float64, format func(string) string, desc string) []byte {
	cols := make([][]int, g.ncol)
	for i, n := range g.nodes {
		cols[n.col] = append(cols[n.col], i)
	}
	for _, n := range g.nodes {
		g.peel = g.peel || n.marks&markPeel != 0
		g.coinJoin = g.coinJoin || n.marks&markCoinJoin != 0
	}

	// One scale for all columns, so that the tallest column fits; the
	// labelled columns also need room for two lines per node.
	var tall int
	for c, ids := range cols {
		need := len(ids) * int(flowGap+6)
		if c == 0 || c == g.ncol-1 {
			need = len(ids) * int(2*flowLineH+4)
		}
		tall = max(tall, need)
	}
	plotH := max(360, float64(tall))
	scale := math.Inf(1)
	for _, ids := range cols {
		var sum float64
		for _, i := range ids {
			sum += g.nodes[i].value
		}
		if sum > 0 {
			scale = min(scale, (plotH-flowGap*float64(len(ids)-1))/sum)
		}
	}
	if math.IsInf(scale, 1) {
		scale = 1
	}
	for _, n := range g.nodes {
		n.h = max(n.value*scale, flowMinH)
	}
	for _, l := range g.links {
		l.w = max(toFloat(l.amount)*scale, 0.5)
	}

	// Labels and their widths set the margins.
	name := g.nodeName
	var leftW, rightW float64
	for _, i := range cols[0] {
		leftW = max(leftW, textWidth(name(i), fontSize), textWidth(format(g.nodes[i].out.String()), 11))
	}
	for _, i := range cols[g.ncol-1] {
		rightW = max(rightW, textWidth(name(i), fontSize), textWidth(format(g.nodes[i].in.String()), 11))
	}
	leftW, rightW = leftW+16, rightW+16
	colX := func(c int) float64 {
		return leftW + float64(c)*(w-leftW-rightW-flowNodeW)/float64(g.ncol-1)
	}

	// Columns left to right: the first by value, each next one by the
	// mean height of its sources (fewer crossings), "other" last.
	var plotBottom float64
	center := func(i int) float64 { return g.nodes[i].y + g.nodes[i].h/2 }
	incoming := make([][]*flowLink, len(g.nodes))
	outgoing := make([][]*flowLink, len(g.nodes))
	for _, l := range g.links {
		incoming[l.dst] = append(incoming[l.dst], l)
		outgoing[l.src] = append(outgoing[l.src], l)
	}
	bary := make([]float64, len(g.nodes))
	for c, ids := range cols {
		if c > 0 {
			for _, i := range ids {
				var sum, wt float64
				for _, l := range incoming[i] {
					sum += center(l.src) * l.w
					wt += l.w
				}
				bary[i] = sum / max(wt, 1e-9)
			}
		}
		slices.SortFunc(ids, func(a, b int) int {
			na, nb := g.nodes[a], g.nodes[b]
			if na.other != nb.other {
				if na.other {
					return 1
				}
				return -1
			}
			return cmp.Or(cmp.Compare(bary[a], bary[b]), cmp.Compare(nb.value, na.value), strings.Compare(na.addr, nb.addr))
		})
		var colH float64
		for _, i := range ids {
			colH += g.nodes[i].h
		}
		colH += flowGap * float64(len(ids)-1)
		y := flowTop + max(plotH-colH, 0)/2
		for _, i := range ids {
			g.nodes[i].y = y
			y += g.nodes[i].h + flowGap
		}
		plotBottom = max(plotBottom, y-flowGap)
	}

	// Bands leave a node in the order of their targets and enter it in
	// the order of their sources, so that they do not cross at the node.
	for i := range g.nodes {
		slices.SortFunc(outgoing[i], func(a, b *flowLink) int {
			return cmp.Or(cmp.Compare(g.nodes[a.dst].y, g.nodes[b.dst].y), cmp.Compare(a.dst, b.dst))
		})
		for _, l := range outgoing[i] {
			l.sy = g.nodes[i].y + g.nodes[i].lout
			g.nodes[i].lout += l.w
		}
		slices.SortFunc(incoming[i], func(a, b *flowLink) int {
			return cmp.Or(cmp.Compare(g.nodes[a.src].y, g.nodes[b.src].y), cmp.Compare(a.src, b.src))
		})
		for _, l := range incoming[i] {
			l.dy = g.nodes[i].y + g.nodes[i].lin
			g.nodes[i].lin += l.w
		}
	}

	// Labels of the seeds and endpoints, pushed down so they do not
	// overlap.
	place := func(ids []int, amount func(*flowNode) *big.Int) []flowLabel {
		var out []flowLabel
		next := 0.0
		for _, i := range ids {
			y := max(center(i)-flowLineH, next)
			out = append(out, flowLabel{node: i, name: name(i), value: format(amount(g.nodes[i]).String()), y: y})
			next = y + 2*flowLineH + 2
		}
		if next > plotBottom {
			plotBottom = next
		}
		return out
	}
	left := place(cols[0], func(n *flowNode) *big.Int { return n.out })
	right := place(cols[g.ncol-1], func(n *flowNode) *big.Int { return n.in })
	labels := map[int]flowLabel{}
	for _, l := range append(left, right...) {
		labels[l.node] = l
	}

	var s svg
	s.printf(`<g class="bands" fill-opacity="0.5">` + "\n")
	for _, l := range g.links {
		x0, x1 := colX(g.nodes[l.src].col)+flowNodeW, colX(g.nodes[l.dst].col)
		xm := (x0 + x1) / 2
		s.printf(`<path class="band" d="M%s %sC%s %s %s %s %s %sL%s %sC%s %s %s %s %s %sZ" fill="%s">`,
			num(x0), num(l.sy), num(xm), num(l.sy), num(xm), num(l.dy), num(x1), num(l.dy),
			num(x1), num(l.dy+l.w), num(xm), num(l.dy+l.w), num(xm), num(l.sy+l.w), num(x0), num(l.sy+l.w),
			g.bandColour(l))
		s.tooltip(fmt.Sprintf("%s → %s: %s", name(l.src), name(l.dst), format(l.amount.String())))
		s.printf("</path>\n")
	}
	s.printf("</g>\n")

	s.printf(`<g class="nodes">` + "\n")
	for i, n := range g.nodes {
		x := colX(n.col)
		var href string
		if o.Href != nil && !n.other && n.addr != "" {
			href = o.Href(n.addr)
		}
		linked := s.openLink(href)
		s.printf(`<rect class="node" x="%s" y="%s" width="%s" height="%s" fill="%s">`, num(x), num(n.y), num(flowNodeW), num(n.h), g.nodeColour(i))
		s.tooltip(g.nodeTooltip(i, format))
		s.printf("</rect>\n")
		if lb, ok := labels[i]; ok {
			lx, anchor := x-6, "end"
			if n.col > 0 {
				lx, anchor = x+flowNodeW+6, "start"
			}
			deco := ""
			if linked {
				deco = `text-decoration="underline"`
			}
			s.text(lx, lb.y+11, anchor, fontSize, deco, lb.name)
			s.text(lx, lb.y+flowLineH+11, anchor, 11, "", lb.value)
		}
		if linked {
			s.printf("</a>\n")
		}
		if lb, ok := labels[i]; ok && math.Abs(lb.y+flowLineH-(n.y+n.h/2)) > 4 {
			// A label pushed away from its node gets a leader line.
			lx0, lx1 := x-1, x-5
			if n.col > 0 {
				lx0, lx1 = x+flowNodeW+1, x+flowNodeW+5
			}
			s.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", num(lx0), num(n.y+n.h/2), num(lx1), num(lb.y+flowLineH), axisColour)
		}
		g.markers(&s, x+flowNodeW/2, n.y+n.h/2, n.marks)
	}
	s.printf("</g>\n")

	y := g.legend(&s, w, plotBottom+24)
	for _, note := range g.notes() {
		s.text(8, y+12, "start", 11, "", note)
		y += 16
	}
	return s.bytes(o.Title, desc, w, y+8)
}

// nodeName is what a node is called on labels and tooltips.
func (g *flowGraph) nodeName(i int) string {
	n := g.nodes[i]
	switch {
	case n.other && n.col == g.ncol-1 && g.ends:
		return fmt.Sprintf("other services (%d)", n.folded)
	case n.other:
		return fmt.Sprintf("%s (%d addresses)", otherName, n.folded)
	case n.end != nil:
		return truncate(fmt.Sprintf("%s (%s)", n.end.Entity, n.end.Category), 32)
	case n.addr == "":
		return "(no address)"
	}
	return shortAddress(n.addr)
}

// nodeTooltip says all about a node: the full address, the label, the
// amounts and the marks.
func (g *flowGraph) nodeTooltip(i int, format func(string) string) string {
	n := g.nodes[i]
	var b strings.Builder
	switch {
	case n.other:
		b.WriteString(g.nodeName(i))
	case n.end != nil:
		fmt.Fprintf(&b, "%s (%s)\n%s", n.end.Entity, n.end.Category, n.addr)
	case n.addr == "":
		b.WriteString("(no address)")
	default:
		b.WriteString(n.addr)
	}
	switch {
	case n.col == 0:
		fmt.Fprintf(&b, "\nseed, out: %s", format(n.out.String()))
	case n.end != nil:
		fmt.Fprintf(&b, "\nfirst reached at hop %d, in: %s", n.end.Hops, format(n.in.String()))
	default:
		fmt.Fprintf(&b, "\nhop %d, in: %s", n.col, format(n.in.String()))
		if n.out.Sign() > 0 {
			fmt.Fprintf(&b, ", out: %s", format(n.out.String()))
		}
	}
	if n.marks&markPeel != 0 {
		b.WriteString("\npaid by a peel chain")
	}
	if n.marks&markCoinJoin != 0 {
		b.WriteString("\npaid by a CoinJoin")
	}
	return b.String()
}

// categoryColour gives each endpoint category a fixed colour: the usual
// ones in the order of [trace.DefaultEndpointCategories], so that
// exchanges look the same in every chart.
func categoryColour(category string) string {
	if i := slices.Index(trace.DefaultEndpointCategories, category); i >= 0 {
		return colour(i)
	}
	if category == "" {
		return otherColour
	}
	return colour(len(trace.DefaultEndpointCategories))
}

func (g *flowGraph) nodeColour(i int) string {
	n := g.nodes[i]
	switch {
	case n.other:
		return otherColour
	case n.end != nil:
		return categoryColour(n.end.Category)
	case n.col == 0:
		return seedColour
	}
	return midColour
}

// bandColour colours a band by the category of the endpoint it reaches.
func (g *flowGraph) bandColour(l *flowLink) string {
	n := g.nodes[l.dst]
	switch {
	case n.end != nil:
		return categoryColour(n.end.Category)
	case n.other:
		return otherColour
	}
	return bandColour
}

// markers draws the marks of a node centred at x, y: a diamond for a peel
// chain, a ring for a CoinJoin, shapes that differ without colour.
func (g *flowGraph) markers(s *svg, x, y float64, marks int) {
	if marks&markPeel != 0 && marks&markCoinJoin != 0 {
		diamond(s, x, y-6)
		ring(s, x, y+6)
		return
	}
	if marks&markPeel != 0 {
		diamond(s, x, y)
	}
	if marks&markCoinJoin != 0 {
		ring(s, x, y)
	}
}

func diamond(s *svg, x, y float64) {
	s.printf(`<path class="peel" d="M%s %sl5 5l-5 5l-5 -5Z" fill="#111" stroke="#fff"/>`+"\n", num(x), num(y-5))
}

func ring(s *svg, x, y float64) {
	s.printf(`<circle class="coinjoin" cx="%s" cy="%s" r="4" fill="#fff" stroke="#111" stroke-width="2"/>`+"\n", num(x), num(y))
}

// legend draws the legend in rows from y and returns the y below it.
func (g *flowGraph) legend(s *svg, w, y float64) float64 {
	type item struct {
		text string
		draw func(x, y float64)
	}
	swatch := func(c string) func(x, y float64) {
		return func(x, y float64) {
			s.printf(`<rect x="%s" y="%s" width="10" height="10" fill="%s"/>`+"\n", num(x), num(y-5), c)
		}
	}
	items := []item{{"seed", swatch(seedColour)}}
	if g.ncol > 2 || !g.ends {
		items = append(items, item{"address on the way", swatch(midColour)})
	}
	var cats []string
	other := false
	for _, n := range g.nodes {
		if n.end != nil && !slices.Contains(cats, n.end.Category) {
			cats = append(cats, n.end.Category)
		}
		other = other || n.other
	}
	slices.SortFunc(cats, func(a, b string) int {
		return cmp.Or(cmp.Compare(categoryRank(a), categoryRank(b)), strings.Compare(a, b))
	})
	for _, c := range cats {
		items = append(items, item{c, swatch(categoryColour(c))})
	}
	if other {
		items = append(items, item{otherName, swatch(otherColour)})
	}
	if g.peel {
		items = append(items, item{"paid by a peel chain", func(x, y float64) { diamond(s, x+5, y) }})
	}
	if g.coinJoin {
		items = append(items, item{"paid by a CoinJoin", func(x, y float64) { ring(s, x+5, y) }})
	}
	s.printf(`<g class="legend">` + "\n")
	x := 8.0
	for _, it := range items {
		iw := 16 + textWidth(it.text, fontSize) + 18
		if x > 8 && x+iw > w {
			x, y = 8, y+18
		}
		it.draw(x, y)
		s.text(x+16, y+4, "start", fontSize, "", it.text)
		x += iw
	}
	s.printf("</g>\n")
	return y + 14
}

// categoryRank orders the usual categories first.
func categoryRank(c string) int {
	if i := slices.Index(trace.DefaultEndpointCategories, c); i >= 0 {
		return i
	}
	return len(trace.DefaultEndpointCategories)
}

// notes are the lines below the legend: what the diagram leaves out.
func (g *flowGraph) notes() []string {
	notes := []string{"Band widths are proportional to the amounts."}
	if g.foldedAddrs > 0 {
		notes = append(notes, fmt.Sprintf("%d smaller addresses are folded into “other” nodes.", g.foldedAddrs))
	}
	if g.truncated {
		notes = append(notes, fmt.Sprintf("The trace's edge list was truncated: only its first %d edges are drawn.", g.edges))
	}
	return notes
}

// flowDesc says what a flow diagram shows, for screen readers.
func flowDesc(res *trace.Result, g *flowGraph, format func(string) string) string {
	if res == nil || len(g.links) == 0 {
		return "The trace moved no funds: there is no flow to draw."
	}
	tainted := "0"
	if res.Tainted.Int != nil {
		tainted = res.Tainted.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Flow of %s", format(tainted))
	if res.Asset != "" {
		fmt.Fprintf(&b, " of %s", res.Asset)
	}
	fmt.Fprintf(&b, " from %s over %s to %s, %s", plural(len(res.Seeds), "seed"), plural(g.hops, "hop"),
		plural(len(res.Endpoints), "labelled service"), plural(g.edges, "edge"))
	if res.Model != "" {
		fmt.Fprintf(&b, ", %s model", res.Model)
	}
	b.WriteString(".")
	if len(res.Endpoints) > 0 {
		e := res.Endpoints[0]
		amount := "0"
		if e.Amount.Int != nil {
			amount = e.Amount.String()
		}
		fmt.Fprintf(&b, " The largest: %s (%s), %s.", e.Entity, e.Category, format(amount))
	}
	if g.truncated {
		b.WriteString(" The edge list is truncated.")
	}
	return b.String()
}

// plural writes n things.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
