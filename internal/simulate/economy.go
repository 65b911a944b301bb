package simulate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// user is a person with a wallet of one to three addresses, reused for
// payments received and change.
type user struct {
	addrs []addr
	utxos []utxo
	bal   int64
}

// exchange is a custodial service: deposit addresses per customer, swept
// into a hot wallet that pays withdrawals in batches.
type exchange struct {
	name     string
	labelled bool
	depKind  uint8 // the script kind of its deposit addresses
	hot      []addr
	hotUTXOs []utxo
	hotBal   int64
	pending  []utxo // deposits not swept yet, oldest first
	// depositOf is each user's deposit address (0: none yet); deposits
	// every deposit address in the order made.
	depositOf []addr
	deposits  []addr
	// pools' deposit addresses, by pool.
	poolDeposit []addr
}

// depositAddr returns the deposit address of user u, making it on first use.
func (g *gen) depositAddr(e *exchange, u int) addr {
	if a := e.depositOf[u]; a != 0 {
		return a
	}
	a := g.keys.add(e.depKind)
	e.depositOf[u] = a
	e.deposits = append(e.deposits, a)
	return a
}

// newDeposit makes a deposit address for an account that is not a user
// (a pool, a whale, the thief's mules).
func (g *gen) newDeposit(e *exchange) addr {
	a := g.keys.add(e.depKind)
	e.deposits = append(e.deposits, a)
	return a
}

// pool is a mining pool: it receives coinbases and pays its miners.
type pool struct {
	a     addr
	cb    []cbOut // coinbase outputs, oldest first
	utxos []utxo
	acted int32 // the last height at which it paid or sold
}

type cbOut struct {
	u      utxo
	height int32
}

// The exchanges, by index in gen.ex.
const (
	exVictim = iota
	exA
	exB
	exC
	numExchanges
)

// gen is one run of the generator.
type gen struct {
	ctx  context.Context
	opts Options
	rng  *rand.Rand
	keys *keyring
	c    *chainWriter

	total    int // transactions to write
	count    int // transactions written or reserved (a block's coinbase at its start)
	perBlock int // non-coinbase transactions per economy block
	econ     int // economy slots used: non-coinbase transactions after maturity
	econEst  int // the economy's slots, estimated before it starts

	users []user
	// funded lists the users holding at least fundedMin; fundedAt is
	// each user's place in it, or -1.
	funded   []int32
	fundedAt []int32
	ex       []*exchange
	pools    []*pool
	st       *story
}

// errInfeasible means an operation could not be built from what the
// wallets hold; the caller tries another.
var errInfeasible = errors.New("simulate: infeasible")

// maturity is how many blocks a coinbase waits before it can be spent
// (regtest's CoinbaseMaturity, as everywhere).
const maturity = 100

// payee is an output to build: an address and a value.
type payee struct {
	a   addr
	val int64
}

// minOut is the smallest output the scenario makes, well above dust.
const minOut = 1_000

// fee returns a fee for a transaction of vsize vbytes: 1 to 12 sat/vB, and
// between a few hundred and a few thousand satoshi.
func (g *gen) fee(vsize int) int64 {
	f := int64(vsize) * int64(1+g.rng.IntN(12))
	return min(max(f, 250), 9_000)
}

// built is a transaction ready to add to the block.
type built struct {
	tx     *wire.MsgTx
	fee    int64
	weight int
}

// build makes a transaction spending ins and paying outs, where outs[rest]
// gets what is left after the others and the fee. It fails with
// errInfeasible when that is less than minOut. Wallets sign with
// replace-by-fee and anti-fee-sniping lock times; services do not.
func (g *gen) build(ins []utxo, outs []payee, rest int, wallet bool) (built, error) {
	tx := wire.NewMsgTx(2)
	seq := uint32(seqFinal)
	if wallet {
		seq = seqRBF
		tx.LockTime = uint32(g.c.height) // the tip when it was signed
	}
	var in int64
	for _, u := range ins {
		tx.AddTxIn(g.c.input(u, seq))
		in += u.val
	}
	var others int64
	for i, p := range outs {
		tx.AddTxOut(g.c.output(p.a, p.val))
		if i != rest {
			others += p.val
		}
	}
	weight, vs := vsize(tx)
	fee := g.fee(vs)
	restVal := in - others - fee
	if restVal < minOut {
		return built{}, errInfeasible
	}
	tx.TxOut[rest].Value = restVal
	return built{tx, fee, weight}, nil
}

// commit adds b to the block and returns the outputs it made, owned as
// outs says, with their final values.
func (g *gen) commit(b built, outs []payee) (chainhash.Hash, []utxo) {
	id := g.c.add(b.tx, b.fee, b.weight)
	us := make([]utxo, len(outs))
	for i, p := range outs {
		us[i] = utxo{op: wire.OutPoint{Hash: id, Index: uint32(i)}, val: b.tx.TxOut[i].Value, a: p.a}
	}
	return id, us
}

// roundSig rounds v down to its digits most significant decimal digits,
// as people and exchanges choose amounts.
func roundSig(v int64, digits int) int64 {
	p := int64(1)
	for x := v; x >= pow10(digits); x /= 10 {
		p *= 10
	}
	return v - v%p
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// frac returns v * num / den, rounded down, without overflowing: v / den
// * num stays below v for num <= den, and v % den * num below den * num.
func frac(v, num, den int64) int64 { return v/den*num + v%den*num/den }

// pct returns a random share of v between lo and hi percent.
func (g *gen) pct(v int64, lo, hi int) int64 {
	return frac(v, int64(lo*100+g.rng.IntN((hi-lo)*100+1)), 10_000)
}

// userKind is the script kind of a new user address.
func (g *gen) userKind() uint8 {
	switch r := g.rng.IntN(100); {
	case r < 75:
		return kindP2WPKH
	case r < 85:
		return kindP2SH
	case r < 93:
		return kindP2PKH
	default:
		return kindP2TR
	}
}

// fundedMin is the least a user must hold to pay someone.
const fundedMin = 100_000

// give adds u to user i's wallet.
func (g *gen) give(i int, u utxo) {
	us := &g.users[i]
	us.utxos = append(us.utxos, u)
	us.bal += u.val
	g.track(i)
}

// takeUser removes the outputs at idx from user i's wallet.
func (g *gen) takeUser(i int, idx []int) {
	us := &g.users[i]
	slices.Sort(idx)
	for k := len(idx) - 1; k >= 0; k-- {
		j := idx[k]
		us.bal -= us.utxos[j].val
		last := len(us.utxos) - 1
		us.utxos[j] = us.utxos[last]
		us.utxos = us.utxos[:last]
	}
	g.track(i)
}

// track keeps user i in the funded set exactly when it holds fundedMin,
// so that picking a payer costs nothing however few users hold coins.
func (g *gen) track(i int) {
	at := g.fundedAt[i]
	switch in := g.users[i].bal >= fundedMin; {
	case in && at < 0:
		g.fundedAt[i] = int32(len(g.funded))
		g.funded = append(g.funded, int32(i))
	case !in && at >= 0:
		last := g.funded[len(g.funded)-1]
		g.funded[at] = last
		g.fundedAt[last] = at
		g.funded = g.funded[:len(g.funded)-1]
		g.fundedAt[i] = -1
	}
}

// pickFunded returns a random user holding at least fundedMin, or -1.
func (g *gen) pickFunded() int {
	if len(g.funded) == 0 {
		return -1
	}
	return int(g.funded[g.rng.IntN(len(g.funded))])
}

// pickInputs chooses 1 to 3 of user i's outputs holding at least least in
// all, and returns their indexes, or nil.
func (g *gen) pickInputs(i int, least int64) []int {
	us := &g.users[i]
	want := 1
	switch r := g.rng.IntN(100); {
	case r >= 83 || len(us.utxos) > 10: // a wallet of many coins spends several
		want = 3
	case r >= 55:
		want = 2
	}
	n := len(us.utxos)
	want = min(want, n)
	var idx []int
	var total int64
	start := g.rng.IntN(n)
	for k := 0; k < n && len(idx) < 3; k++ {
		j := (start + k) % n
		idx = append(idx, j)
		total += us.utxos[j].val
		if len(idx) >= want && total >= least {
			return idx
		}
	}
	return nil
}

func (g *gen) inputsOf(i int, idx []int) []utxo {
	out := make([]utxo, len(idx))
	for k, j := range idx {
		out[k] = g.users[i].utxos[j]
	}
	return out
}

// background emits one ordinary transaction.
func (g *gen) background() error {
	// Shares in per mille. Withdrawals are a batch of 5 to 30 outputs
	// each, as many in all as deposits; pools act at most once a block,
	// so most of their draws fall back to payments.
	r := g.rng.IntN(1000)
	var err error
	switch {
	case r < 720:
		err = g.payment()
	case r < 860:
		err = g.deposit()
	case r < 875:
		err = g.exchangePayout()
	case r < 940:
		err = g.consolidate()
	case r < 970:
		err = g.poolPayout()
	default:
		err = g.poolSell()
	}
	if !errors.Is(err, errInfeasible) {
		return err
	}
	// What can always be done, in order: pay someone, withdraw, mine.
	for _, f := range []func() error{g.payment, g.payment, g.payment, g.exchangePayout, g.poolPayout, g.consolidate, g.poolSell, g.poolPayoutAny} {
		if err := f(); !errors.Is(err, errInfeasible) {
			return err
		}
	}
	return fmt.Errorf("simulate: no transaction possible at height %d", g.c.height+1)
}

// userSpend is what a user about to pay spends: the user, its inputs (by
// index and as outputs) and their total.
type userSpend struct {
	user  int
	idx   []int
	ins   []utxo
	total int64
}

// spender picks a funded user and the inputs it spends, or errInfeasible.
func (g *gen) spender() (userSpend, error) {
	i := g.pickFunded()
	if i < 0 {
		return userSpend{}, errInfeasible
	}
	idx := g.pickInputs(i, fundedMin)
	if idx == nil {
		return userSpend{}, errInfeasible
	}
	sp := userSpend{user: i, idx: idx, ins: g.inputsOf(i, idx)}
	for _, u := range sp.ins {
		sp.total += u.val
	}
	return sp, nil
}

// payWithChange commits sp paying amount to to and the rest to change,
// the two outputs in random order; the change goes back to the user. It
// returns the output paid.
func (g *gen) payWithChange(sp userSpend, to, change addr, amount int64) (utxo, error) {
	outs := []payee{{to, amount}, {change, 0}}
	rest := 1
	if g.rng.IntN(2) == 0 {
		outs[0], outs[1], rest = outs[1], outs[0], 0
	}
	b, err := g.build(sp.ins, outs, rest, true)
	if err != nil {
		return utxo{}, err
	}
	g.takeUser(sp.user, sp.idx)
	_, us := g.commit(b, outs)
	g.give(sp.user, us[rest])
	return us[1-rest], nil
}

// payment: a user pays another, with change.
func (g *gen) payment() error {
	sp, err := g.spender()
	if err != nil {
		return err
	}
	i := sp.user
	j := g.rng.IntN(len(g.users) - 1)
	if j >= i {
		j++
	}
	to := g.users[j].addrs[g.rng.IntN(len(g.users[j].addrs))]
	change := g.users[i].addrs[g.rng.IntN(len(g.users[i].addrs))]
	paid, err := g.payWithChange(sp, to, change, roundSig(g.pct(sp.total, 10, 85), 3))
	if err != nil {
		return err
	}
	g.give(j, paid)
	return nil
}

// depositShares weights the exchanges users deposit to: victim, A, B, C.
var depositShares = [numExchanges]int{30, 25, 25, 20}

func (g *gen) pickExchange() *exchange {
	r := g.rng.IntN(100)
	for k, s := range depositShares {
		if r < s {
			return g.ex[k]
		}
		r -= s
	}
	return g.ex[numExchanges-1]
}

// deposit: a user sends part of its coins to its deposit address at an
// exchange, with change.
func (g *gen) deposit() error {
	sp, err := g.spender()
	if err != nil {
		return err
	}
	i := sp.user
	e := g.pickExchange()
	change := g.users[i].addrs[g.rng.IntN(len(g.users[i].addrs))]
	to := g.depositAddr(e, i)
	paid, err := g.payWithChange(sp, to, change, roundSig(g.pct(sp.total, 20, 90), 3))
	if err != nil {
		return err
	}
	e.pending = append(e.pending, paid)
	return nil
}

// largestFirst returns indexes of us, largest value first, covering need
// with at most max of them; nil if they do not.
func largestFirst(us []utxo, need int64, max int) []int {
	idx := byValue(us)
	var total int64
	for k, j := range idx {
		total += us[j].val
		if total >= need {
			return idx[:k+1]
		}
		if k+1 == max {
			break
		}
	}
	return nil
}

// remove deletes the elements at idx from *us, keeping the order of the
// rest, and returns their total value.
func remove(us *[]utxo, idx []int) int64 {
	drop := make(map[int]bool, len(idx))
	var total int64
	for _, j := range idx {
		drop[j] = true
		total += (*us)[j].val
	}
	out := (*us)[:0]
	for j, u := range *us {
		if !drop[j] {
			out = append(out, u)
		}
	}
	clear((*us)[len(out):])
	*us = out
	return total
}

// split divides total into n parts by random weights, each rounded to
// three significant digits; the parts add up to at most total.
func (g *gen) split(total int64, n int) []int64 {
	w := make([]int64, n)
	var sum int64
	for k := range w {
		w[k] = int64(1 + g.rng.IntN(10))
		sum += w[k]
	}
	parts := make([]int64, n)
	for k := range parts {
		parts[k] = max(roundSig(frac(total, w[k], sum), 3), minOut)
	}
	return parts
}

// payout pays recipients from an exchange's hot wallet, with change back
// to it; recipients[k] gets parts[k].
func (g *gen) payout(e *exchange, recipients []int, parts []int64) ([]utxo, error) {
	var need int64 = 50_000
	for _, p := range parts {
		need += p
	}
	idx := largestFirst(e.hotUTXOs, need, 50)
	if idx == nil {
		return nil, errInfeasible
	}
	ins := make([]utxo, len(idx))
	for k, j := range idx {
		ins[k] = e.hotUTXOs[j]
	}
	outs := make([]payee, 0, len(recipients)+1)
	for k, r := range recipients {
		u := &g.users[r]
		outs = append(outs, payee{u.addrs[g.rng.IntN(len(u.addrs))], parts[k]})
	}
	outs = append(outs, payee{e.hot[g.rng.IntN(len(e.hot))], 0})
	b, err := g.build(ins, outs, len(outs)-1, false)
	if err != nil {
		return nil, err
	}
	e.hotBal -= remove(&e.hotUTXOs, idx)
	_, us := g.commit(b, outs)
	change := us[len(us)-1]
	e.hotUTXOs = append(e.hotUTXOs, change)
	e.hotBal += change.val
	return us[:len(us)-1], nil
}

// exchangePayout: an exchange pays a batch of withdrawals. Before the
// theft the victim pays none, so that its hot wallet fills.
func (g *gen) exchangePayout() error {
	k := g.rng.IntN(numExchanges)
	if k == exVictim && !g.st.robbed {
		k = 1 + g.rng.IntN(numExchanges-1)
	}
	e := g.ex[k]
	if e.hotBal < 50_000_000 {
		return errInfeasible
	}
	n := 5 + g.rng.IntN(26)
	recipients := make([]int, n)
	for r := range recipients {
		recipients[r] = g.rng.IntN(len(g.users))
	}
	parts := g.split(g.pct(e.hotBal, 1, 4), n)
	us, err := g.payout(e, recipients, parts)
	if err != nil {
		return err
	}
	for r, u := range us {
		g.give(recipients[r], u)
	}
	return nil
}

// consolidate: an exchange sweeps its deposit addresses into its hot
// wallet, with some of the hot wallet's small outputs when it holds many.
func (g *gen) consolidate() error {
	start := g.rng.IntN(numExchanges)
	for k := range numExchanges {
		e := g.ex[(start+k)%numExchanges]
		if len(e.pending) >= 5 {
			return g.sweep(e, 150)
		}
	}
	return errInfeasible
}

// sweep consolidates up to max pending deposits of e (and small hot
// outputs when the hot wallet holds more than 30) into one hot output.
func (g *gen) sweep(e *exchange, max int) error {
	n := min(len(e.pending), max)
	if n == 0 {
		return errInfeasible
	}
	ins := slices.Clone(e.pending[:n])
	var hotIdx []int
	if len(e.hotUTXOs) > 30 {
		idx := make([]int, len(e.hotUTXOs))
		for k := range idx {
			idx[k] = k
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmpVal(e.hotUTXOs[a].val, e.hotUTXOs[b].val) })
		// The smallest ones, keeping the ten largest, up to 200 inputs in all.
		for _, j := range idx[:len(idx)-10] {
			if len(ins) >= 200 {
				break
			}
			hotIdx = append(hotIdx, j)
			ins = append(ins, e.hotUTXOs[j])
		}
	}
	outs := []payee{{e.hot[g.rng.IntN(len(e.hot))], 0}}
	b, err := g.build(ins, outs, 0, false)
	if err != nil {
		return err
	}
	e.pending = slices.Delete(e.pending, 0, n)
	e.hotBal -= remove(&e.hotUTXOs, hotIdx)
	_, us := g.commit(b, outs)
	e.hotUTXOs = append(e.hotUTXOs, us[0])
	e.hotBal += us[0].val
	return nil
}

func cmpVal(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// poolFunds returns what pool p may spend at the block being built: how
// many of its coinbases have matured (the oldest ones) and the value of
// those and of its other outputs.
func (g *gen) poolFunds(p *pool) (cb int, total int64) {
	h := g.c.height + 1
	for _, o := range p.cb {
		if h-o.height < maturity {
			break
		}
		cb++
		total += o.u.val
	}
	for _, u := range p.utxos {
		total += u.val
	}
	return cb, total
}

// poolInputs chooses a pool's inputs worth at least need: matured
// coinbases, oldest first, and its other outputs, largest first, in the
// order cbFirst says. It returns how many coinbases it took and the
// indexes of the other outputs.
func (g *gen) poolInputs(p *pool, need int64, cbFirst bool) (ncb int, idx []int, ok bool) {
	cb, _ := g.poolFunds(p)
	var total int64
	takeCB := func() bool {
		for ncb < cb && total < need {
			total += p.cb[ncb].u.val
			ncb++
		}
		return total >= need
	}
	takeOther := func() bool {
		for _, j := range byValue(p.utxos) {
			if total >= need || len(idx) == 50 {
				break
			}
			idx = append(idx, j)
			total += p.utxos[j].val
		}
		return total >= need
	}
	if cbFirst {
		ok = takeCB() || takeOther()
	} else {
		ok = takeOther() || takeCB()
	}
	return ncb, idx, ok
}

// byValue returns the indexes of us, largest value first.
func byValue(us []utxo) []int {
	idx := make([]int, len(us))
	for k := range idx {
		idx[k] = k
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpVal(us[b].val, us[a].val) })
	return idx
}

func (p *pool) take(ncb int, idx []int) []utxo {
	ins := make([]utxo, 0, ncb+len(idx))
	for _, o := range p.cb[:ncb] {
		ins = append(ins, o.u)
	}
	for _, j := range idx {
		ins = append(ins, p.utxos[j])
	}
	return ins
}

func (p *pool) spent(ncb int, idx []int) {
	p.cb = slices.Delete(p.cb, 0, ncb)
	remove(&p.utxos, idx)
}

// richestPool returns the pool with the most to spend.
func (g *gen) richestPool() (*pool, int64) {
	var best *pool
	var most int64
	for _, p := range g.pools {
		if _, t := g.poolFunds(p); t > most {
			best, most = p, t
		}
	}
	return best, most
}

// idlePool returns a random pool that has not acted in the block being
// built and passes ok, or nil. Pools act at most once a block, as real
// ones pay their miners now and then: were they as busy as users, their
// balances would never build up.
func (g *gen) idlePool(ok func(*pool) bool) *pool {
	h := g.c.height + 1
	start := g.rng.IntN(len(g.pools))
	for k := range g.pools {
		p := g.pools[(start+k)%len(g.pools)]
		if p.acted < h && ok(p) {
			return p
		}
	}
	return nil
}

// poolPayout: a pool pays its miners most of a matured coinbase.
func (g *gen) poolPayout() error {
	p := g.idlePool(func(p *pool) bool { cb, _ := g.poolFunds(p); return cb > 0 })
	if p == nil {
		return errInfeasible
	}
	return g.payMiners(p, p.cb[0].u.val)
}

// poolPayoutAny: the last resort when nothing else can be done, a pool
// pays its miners from whatever it has.
func (g *gen) poolPayoutAny() error {
	p, avail := g.richestPool()
	if p == nil || avail < 50_000_000 {
		return errInfeasible
	}
	return g.payMiners(p, min(avail, 5_000_000_000))
}

// payMiners pays 40 to 95% of of from pool p to 10 to 50 users.
func (g *gen) payMiners(p *pool, of int64) error {
	n := 10 + g.rng.IntN(41)
	parts := g.split(g.pct(of, 40, 95), n)
	recipients := make([]int, n)
	for k := range recipients {
		recipients[k] = g.rng.IntN(len(g.users))
	}
	us, err := g.poolPay(p, recipients, parts)
	if err != nil {
		return err
	}
	for k, r := range recipients {
		g.give(r, us[k])
	}
	return nil
}

// poolPay pays parts[k] to user recipients[k] from pool p, coinbases
// first, with change back to the pool, and returns the users' outputs.
func (g *gen) poolPay(p *pool, recipients []int, parts []int64) ([]utxo, error) {
	var sum int64
	for _, v := range parts {
		sum += v
	}
	ncb, idx, ok := g.poolInputs(p, sum+50_000, true)
	if !ok {
		return nil, errInfeasible
	}
	outs := make([]payee, 0, len(parts)+1)
	for k, r := range recipients {
		u := &g.users[r]
		outs = append(outs, payee{u.addrs[g.rng.IntN(len(u.addrs))], parts[k]})
	}
	outs = append(outs, payee{p.a, 0})
	n := len(parts)
	b, err := g.build(p.take(ncb, idx), outs, n, false)
	if err != nil {
		return nil, err
	}
	p.spent(ncb, idx)
	_, us := g.commit(b, outs)
	p.utxos = append(p.utxos, us[n])
	p.acted = g.c.height + 1
	return us[:n], nil
}

// poolSell: a pool deposits coins at an exchange to sell them.
func (g *gen) poolSell() error {
	p := g.idlePool(func(p *pool) bool { _, t := g.poolFunds(p); return t >= 100_000_000 })
	if p == nil {
		return errInfeasible
	}
	pi := slices.Index(g.pools, p)
	_, avail := g.poolFunds(p)
	e := g.pickExchange()
	if e.poolDeposit[pi] == 0 {
		e.poolDeposit[pi] = g.newDeposit(e)
	}
	return g.poolDeposit(p, e, e.poolDeposit[pi], roundSig(g.pct(min(avail, 10_000_000_000), 10, 60), 2))
}

// poolDeposit sends amount from p to the deposit address to at e, from
// its change outputs first.
func (g *gen) poolDeposit(p *pool, e *exchange, to addr, amount int64) error {
	ncb, idx, ok := g.poolInputs(p, amount+50_000, false)
	if !ok {
		return errInfeasible
	}
	outs := []payee{{to, amount}, {p.a, 0}}
	b, err := g.build(p.take(ncb, idx), outs, 1, false)
	if err != nil {
		return err
	}
	p.spent(ncb, idx)
	_, us := g.commit(b, outs)
	e.pending = append(e.pending, us[0])
	p.utxos = append(p.utxos, us[1])
	p.acted = g.c.height + 1
	return nil
}
