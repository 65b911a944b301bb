package simulate

import (
	"errors"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// opKind is one step of the story; each makes exactly one transaction.
type opKind uint8

const (
	opWhale    opKind = iota // a pool sells a large amount to the victim
	opSweep                  // the victim sweeps its deposits into its hot wallet
	opTheft                  // arg: which of the theft transactions
	opPremix                 // the largest seed splits into CoinJoin inputs and the fan-out's source
	opFund                   // clean users withdraw the coins they will mix
	opCoinJoin               // the Wasabi 1.0-style CoinJoin
	opFanOut                 // one thief wallet pays 20 or more
	opPeel                   // arg: the chain whose next step this is
	opDeposit                // arg: the holding slot the thief deposits
)

// op is a step of the story at an economy slot.
type op struct {
	kind opKind
	arg  int
	pos  int
}

// peelStep is the plan of one peel: where the peel goes (an exchange, or
// -1 for a thief wallet) and, for a thief wallet, the holding slot it
// fills when it is deposited later (-1: it stays).
type peelStep struct {
	dest int
	slot int
}

// depositPlan says where a holding slot is deposited, and whether the
// thief keeps change.
type depositPlan struct {
	ex     int
	change bool
}

// held is an output the thief controls.
type held struct {
	u       utxo
	spentBy chainhash.Hash
	spent   bool
}

// cleanCoin is a clean user's coin set aside for the CoinJoin.
type cleanCoin struct {
	user int
	u    utxo
}

// story is the theft and its laundering: the plan, fixed at the start,
// and what the steps made so far.
type story struct {
	ops  []op
	next int

	// The plan.
	thefts      int
	chains      [][]peelStep
	chainFinal  []int // slot of a chain's last output, or -1
	alices      int   // the thief's CoinJoin inputs
	clean       int   // clean users mixing beside it
	cjSlots     []int // per thief CoinJoin output
	fanSlots    []int // per fan-out output
	plans       []depositPlan
	mules       [numExchanges][]addr // the thief's deposit addresses, at A and B
	denom       int64
	coordinator addr

	// What the steps made.
	robbed      bool
	slots       []utxo
	filled      []bool
	groups      [][]utxo // the victim's hot outputs, one group per theft transaction
	seedCounts  []int
	seeds       []utxo
	heads       []utxo // each peel chain's current output
	steps       []int  // each chain's steps done
	premix      []utxo
	fanSrc      utxo
	cleanCoins  []cleanCoin
	held        []held
	heldAt      map[wire.OutPoint]int
	loot        [numExchanges]int64
	lootDeps    [numExchanges][]utxo
	fees        int64
	elsewhere   int64
	drained     int64
	theftFees   int64
	theftHeight int32
	theftTxs    []chainhash.Hash
	peelTxs     [][]chainhash.Hash
	premixTx    chainhash.Hash
	cjTx        chainhash.Hash
	fanTx       chainhash.Hash
}

// plan draws the story for the economy's estimated slots: the counts
// first, shrunk until the story fits its window, then the slots and the
// order of the steps.
func (g *gen) plan() *story {
	r := g.rng
	s := &story{heldAt: map[wire.OutPoint]int{}}
	s.thefts = 1 + r.IntN(3)
	nChains := 3 + r.IntN(3)
	lengths := make([]int, nChains)
	for c := range lengths {
		lengths[c] = 5 + r.IntN(16)
	}
	s.alices = 5 + r.IntN(8)
	s.clean = 10 + r.IntN(11)
	fan := 20 + r.IntN(21)
	s.denom = 10_000_000 - r.Int64N(200_001)
	// Share of holdings the thief deposits later, in percent.
	peelDep, fanDep, cjDep, finalDep := 50, 70, 60, 50

	start, end := g.econEst*35/100, g.econEst*85/100
	budget := (end - start) * 8 / 10
	size := func() int {
		n := 2 + s.thefts + 1 + 3 // whale, sweep, thefts, premix; fund, coinjoin, fan-out
		for _, l := range lengths {
			n += l + l*65/100*peelDep/100 + finalDep/50
		}
		return n + s.alices*cjDep/100 + fan*fanDep/100 + 2
	}
	for size() > budget {
		longest := slices.Index(lengths, slices.Max(lengths))
		switch {
		case lengths[longest] > 5:
			lengths[longest]--
		case len(lengths) > 3:
			lengths = lengths[:len(lengths)-1]
		case fanDep > 0:
			fanDep -= 10
		case peelDep > 0:
			peelDep -= 10
		case cjDep > 0:
			cjDep -= 10
		default:
			finalDep = 0
		}
	}

	slot := func(pct int) int {
		if r.IntN(100) >= pct {
			return -1
		}
		ex := exA
		if r.IntN(2) == 0 {
			ex = exB
		}
		s.plans = append(s.plans, depositPlan{ex: ex, change: r.IntN(100) < 30})
		return len(s.plans) - 1
	}
	for _, l := range lengths {
		steps := make([]peelStep, l)
		for i := range steps {
			switch x := r.IntN(100); {
			case x < 65:
				steps[i] = peelStep{dest: -1, slot: slot(peelDep)}
			case x < 83:
				steps[i] = peelStep{dest: exA, slot: -1}
			default:
				steps[i] = peelStep{dest: exB, slot: -1}
			}
		}
		s.chains = append(s.chains, steps)
		s.chainFinal = append(s.chainFinal, slot(finalDep))
	}
	for range s.alices {
		s.cjSlots = append(s.cjSlots, slot(cjDep))
	}
	for range fan {
		s.fanSlots = append(s.fanSlots, slot(fanDep))
	}
	s.slots = make([]utxo, len(s.plans))
	s.filled = make([]bool, len(s.plans))
	for _, e := range []int{exA, exB} {
		for range 3 + r.IntN(4) {
			s.mules[e] = append(s.mules[e], g.newDeposit(g.ex[e]))
		}
	}
	s.coordinator = g.keys.add(kindP2WPKH)
	s.heads = make([]utxo, len(s.chains))
	s.steps = make([]int, len(s.chains))
	s.peelTxs = make([][]chainhash.Hash, len(s.chains))

	// Threads of steps that must run in order, merged at random once
	// the theft is done.
	theft := []op{{kind: opWhale}, {kind: opSweep}}
	for i := range s.thefts {
		theft = append(theft, op{kind: opTheft, arg: i})
	}
	theft = append(theft, op{kind: opPremix})
	var threads [][]op
	for c, steps := range s.chains {
		var t []op
		for range steps {
			t = append(t, op{kind: opPeel, arg: c})
		}
		for _, st := range steps {
			if st.slot >= 0 {
				t = append(t, op{kind: opDeposit, arg: st.slot})
			}
		}
		if s.chainFinal[c] >= 0 {
			t = append(t, op{kind: opDeposit, arg: s.chainFinal[c]})
		}
		threads = append(threads, t)
	}
	mix := []op{{kind: opFund}, {kind: opCoinJoin}}
	for _, sl := range s.cjSlots {
		if sl >= 0 {
			mix = append(mix, op{kind: opDeposit, arg: sl})
		}
	}
	fanOut := []op{{kind: opFanOut}}
	for _, sl := range s.fanSlots {
		if sl >= 0 {
			fanOut = append(fanOut, op{kind: opDeposit, arg: sl})
		}
	}
	threads = append(threads, mix, fanOut)
	s.ops = theft
	for {
		left := 0
		for _, t := range threads {
			left += len(t)
		}
		if left == 0 {
			break
		}
		x := r.IntN(left)
		for k, t := range threads {
			if x < len(t) {
				s.ops = append(s.ops, t[0])
				threads[k] = t[1:]
				break
			}
			x -= len(t)
		}
	}

	// Places: distinct slots in [start, end), chosen uniformly (Knuth's
	// selection sampling), in order.
	need := len(s.ops)
	k := 0
	for pos := start; pos < end && k < need; pos++ {
		if r.IntN(end-pos) < need-k {
			s.ops[k].pos = pos
			k++
		}
	}
	for ; k < need; k++ { // a window too small: the rest as soon as possible
		s.ops[k].pos = end
	}
	return s
}

// due reports whether the next step should take the current slot: its
// place has come, or the slots left are barely enough for the steps left.
func (s *story) due(g *gen) bool {
	if s.next >= len(s.ops) {
		return false
	}
	if g.econ >= s.ops[s.next].pos {
		return true
	}
	left := g.total - g.count
	coinbases := left/(g.perBlock+1) + 1
	return left-coinbases <= len(s.ops)-s.next+2
}

// step runs the next step. errInfeasible means it made nothing (a deposit
// of a holding that never came to be): the caller fills the slot with
// ordinary traffic.
func (s *story) step(g *gen) error {
	o := s.ops[s.next]
	s.next++
	switch o.kind {
	case opWhale:
		return s.whale(g)
	case opSweep:
		return g.sweep(g.ex[exVictim], 400)
	case opTheft:
		return s.theft(g, o.arg)
	case opPremix:
		return s.premixStep(g)
	case opFund:
		return s.fund(g)
	case opCoinJoin:
		return s.coinJoin(g)
	case opFanOut:
		return s.fanOut(g)
	case opPeel:
		return s.peel(g, o.arg)
	case opDeposit:
		return s.deposit(g, o.arg)
	}
	return fmt.Errorf("simulate: unknown step %d", o.kind)
}

// fresh returns a new thief address: mostly P2WPKH, some P2TR.
func (s *story) fresh(g *gen) addr {
	if g.rng.IntN(5) == 0 {
		return g.keys.add(kindP2TR)
	}
	return g.keys.add(kindP2WPKH)
}

// hold records an output the thief controls.
func (s *story) hold(u utxo) {
	s.heldAt[u.op] = len(s.held)
	s.held = append(s.held, held{u: u})
}

// spend records that the thief spent u in tx.
func (s *story) spend(u utxo, tx chainhash.Hash) error {
	i, ok := s.heldAt[u.op]
	if !ok || s.held[i].spent {
		return fmt.Errorf("simulate: the thief spends %v, which it does not hold", u.op)
	}
	s.held[i].spent, s.held[i].spentBy = true, tx
	return nil
}

// toExchange records loot paid to exchange e.
func (s *story) toExchange(g *gen, e int, u utxo) {
	s.loot[e] += u.val
	s.lootDeps[e] = append(s.lootDeps[e], u)
	g.ex[e].pending = append(g.ex[e].pending, u)
}

// whale: the richest pool sells a large amount at the victim, so its hot
// wallet is worth robbing.
func (s *story) whale(g *gen) error {
	p, avail := g.richestPool()
	if p == nil || avail < 200_000_000 {
		return errInfeasible
	}
	v := g.ex[exVictim]
	return g.poolDeposit(p, v, g.newDeposit(v), roundSig(g.pct(avail, 30, 60), 2))
}

// theft: the i-th transaction draining the victim's hot wallet to the
// thief's seed addresses. The first one takes the whole hot wallet and
// splits it among the theft transactions.
func (s *story) theft(g *gen, i int) error {
	v := g.ex[exVictim]
	if i == 0 {
		if len(v.hotUTXOs) == 0 {
			return fmt.Errorf("simulate: the victim's hot wallet is empty at the theft")
		}
		hot := slices.Clone(v.hotUTXOs)
		g.rng.Shuffle(len(hot), func(a, b int) { hot[a], hot[b] = hot[b], hot[a] })
		n := min(s.thefts, len(hot))
		for k := range n {
			s.groups = append(s.groups, hot[k*len(hot)/n:(k+1)*len(hot)/n])
		}
		// One seed per peel chain and one for the mix, spread over the
		// theft transactions.
		seeds := len(s.chains) + 1
		for k := range n {
			s.seedCounts = append(s.seedCounts, seeds/n+b2i(k < seeds%n))
		}
		v.hotUTXOs, v.hotBal = nil, 0
		s.robbed = true
		s.theftHeight = g.c.height + 1
	}
	if i >= len(s.groups) {
		return errInfeasible
	}
	ins := s.groups[i]
	var in int64
	for _, u := range ins {
		in += u.val
	}
	m := s.seedCounts[i]
	outs := make([]payee, m)
	parts := g.split(in-100_000, m)
	for k := range outs {
		outs[k] = payee{s.fresh(g), parts[k]}
	}
	b, err := g.build(ins, outs, m-1, true)
	if err != nil {
		return fmt.Errorf("simulate: theft transaction: %w", err)
	}
	id, us := g.commit(b, outs)
	s.theftTxs = append(s.theftTxs, id)
	s.drained += in
	s.theftFees += b.fee
	for _, u := range us {
		s.seeds = append(s.seeds, u)
		s.hold(u)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The CoinJoin's costs per input: the coordinator's fee in thousandths of
// the denomination, and the largest mining fee share an input pays.
const (
	coordPerMille = 3
	maxFeeShare   = 148 + 2*43
)

// premixStep: the largest seed pays the thief's CoinJoin inputs, each a
// little over the denomination and its fees, and the fan-out's source. The
// other seeds head the peel chains.
func (s *story) premixStep(g *gen) error {
	if len(s.seeds) == 0 {
		return fmt.Errorf("simulate: no seeds to launder")
	}
	big := 0
	for k, u := range s.seeds {
		if u.val > s.seeds[big].val {
			big = k
		}
	}
	for k, u := range s.seeds {
		if c := k - b2i(k > big); k != big && c < len(s.heads) {
			s.heads[c] = u
		}
	}
	seed := s.seeds[big]
	unit := s.denom + s.denom*coordPerMille/1000 + maxFeeShare
	a := min(int64(s.alices), frac(seed.val, 6, 10)/(unit+5_000_000))
	if a < 1 {
		return fmt.Errorf("simulate: the largest seed (%d sat) cannot pay a CoinJoin input", seed.val)
	}
	outs := make([]payee, 0, a+1)
	for range a {
		outs = append(outs, payee{s.fresh(g), unit + roundSig(20_000+g.rng.Int64N(5_000_000), 2)})
	}
	rest := g.rng.IntN(len(outs) + 1)
	outs = slices.Insert(outs, rest, payee{s.fresh(g), 0})
	b, err := g.build([]utxo{seed}, outs, rest, true)
	if err != nil {
		return fmt.Errorf("simulate: premix: %w", err)
	}
	id, us := g.commit(b, outs)
	s.premixTx = id
	s.fees += b.fee
	if err := s.spend(seed, id); err != nil {
		return err
	}
	for k, u := range us {
		s.hold(u)
		if k == rest {
			s.fanSrc = u
		} else {
			s.premix = append(s.premix, u)
		}
	}
	return nil
}

// fund: the clean users who will mix withdraw a little over the
// denomination each, from the richest exchange that was not robbed, or a
// pool. Their coins are set aside for the CoinJoin. When nobody can pay
// them all, users who hold a large enough coin bring it instead, and the
// step makes no transaction.
func (s *story) fund(g *gen) error {
	s.clean = min(s.clean, len(g.users))
	seen := map[int]bool{}
	recipients := make([]int, 0, s.clean)
	for len(recipients) < s.clean {
		u := g.rng.IntN(len(g.users))
		if !seen[u] {
			seen[u] = true
			recipients = append(recipients, u)
		}
	}
	parts := make([]int64, s.clean)
	var sum int64
	for k := range parts {
		parts[k] = s.denom + roundSig(1_000_000+g.rng.Int64N(30_000_000), 3)
		sum += parts[k]
	}
	var best *exchange
	for _, e := range g.ex[exVictim+1:] {
		if best == nil || e.hotBal > best.hotBal {
			best = e
		}
	}
	var us []utxo
	err := errInfeasible
	if best.hotBal >= sum+100_000_000 {
		us, err = g.payout(best, recipients, parts)
	} else if p, avail := g.richestPool(); p != nil && avail >= sum+100_000_000 {
		us, err = g.poolPay(p, recipients, parts)
	}
	switch {
	case err == nil:
		for k, u := range us {
			s.cleanCoins = append(s.cleanCoins, cleanCoin{recipients[k], u})
		}
		return nil
	case !errors.Is(err, errInfeasible):
		return fmt.Errorf("simulate: fund the CoinJoin: %w", err)
	}
	least := s.denom + 1_200_000
	cands := slices.Clone(g.funded)
	start := g.rng.IntN(max(len(cands), 1))
	for k := 0; k < len(cands) && len(s.cleanCoins) < s.clean; k++ {
		i := int(cands[(start+k)%len(cands)])
		for j, u := range g.users[i].utxos {
			if u.val >= least {
				s.cleanCoins = append(s.cleanCoins, cleanCoin{i, u})
				g.takeUser(i, []int{j})
				break
			}
		}
	}
	return errInfeasible
}

// inputVsize is the virtual size of an input of each script kind.
var inputVsize = [...]int64{kindP2WPKH: 68, kindP2SH: 91, kindP2PKH: 148, kindP2TR: 58}

// coinJoin builds the Wasabi 1.0-style CoinJoin: every participant (the
// thief's inputs and the clean users') puts in one input and takes one
// output of the denomination, change, and pays the coordinator's fee and
// its share of the mining fee. Inputs and outputs are shuffled.
func (s *story) coinJoin(g *gen) error {
	if len(s.premix) == 0 || len(s.cleanCoins) == 0 || len(s.premix)+len(s.cleanCoins) < 10 {
		return fmt.Errorf("simulate: the CoinJoin has %d of the thief's inputs and %d clean ones, want 10 in all", len(s.premix), len(s.cleanCoins))
	}
	type alice struct {
		u      utxo
		user   int // -1: the thief
		equal  addr
		change addr
		chg    int64
	}
	var alices []alice
	for _, u := range s.premix {
		alices = append(alices, alice{u: u, user: -1, equal: s.fresh(g), change: s.fresh(g)})
	}
	for _, c := range s.cleanCoins {
		us := &g.users[c.user]
		fresh := g.keys.add(g.userKind())
		us.addrs = append(us.addrs, fresh)
		alices = append(alices, alice{u: c.u, user: c.user, equal: fresh, change: us.addrs[0]})
	}
	coord := s.denom * coordPerMille / 1000
	const rate = 1 // sat/vB: participants wait for a cheap round
	type out struct {
		p     payee
		owner int // -1 thief, -2 coordinator, else a user
		alice int // for the thief's equal outputs: its index, else -1
	}
	var outs []out
	var coordTotal int64
	for k := range alices {
		a := &alices[k]
		share := (inputVsize[g.keys.kinds[a.u.a]] + 2*43) * rate
		a.chg = a.u.val - s.denom - coord - share
		if a.chg < 0 {
			return fmt.Errorf("simulate: CoinJoin input of %d sat does not pay its way", a.u.val)
		}
		eqIdx := -1
		if a.user < 0 {
			eqIdx = k
		}
		outs = append(outs, out{payee{a.equal, s.denom}, a.user, eqIdx})
		if a.chg >= 5_000 {
			outs = append(outs, out{payee{a.change, a.chg}, a.user, -1})
		} else {
			a.chg = 0 // too small to keep: it goes to the miners
		}
		coordTotal += coord
	}
	outs = append(outs, out{payee{s.coordinator, coordTotal}, -2, -1})
	g.rng.Shuffle(len(alices), func(i, j int) { alices[i], alices[j] = alices[j], alices[i] })
	g.rng.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i] })

	tx := wire.NewMsgTx(1)
	var in, sum int64
	for _, a := range alices {
		tx.AddTxIn(g.c.input(a.u, seqFinal))
		in += a.u.val
	}
	for _, o := range outs {
		tx.AddTxOut(g.c.output(o.p.a, o.p.val))
		sum += o.p.val
	}
	weight, _ := vsize(tx)
	id := g.c.add(tx, in-sum, weight)
	s.cjTx = id
	for _, a := range alices {
		if a.user >= 0 {
			continue
		}
		if err := s.spend(a.u, id); err != nil {
			return err
		}
		s.fees += a.u.val - s.denom - coord - a.chg
		s.elsewhere += coord
	}
	thiefEq := 0
	for k, o := range outs {
		u := utxo{op: wire.OutPoint{Hash: id, Index: uint32(k)}, val: o.p.val, a: o.p.a}
		switch {
		case o.owner == -1:
			s.hold(u)
			if o.alice >= 0 {
				if thiefEq < len(s.cjSlots) {
					if sl := s.cjSlots[thiefEq]; sl >= 0 {
						s.slots[sl], s.filled[sl] = u, true
					}
				}
				thiefEq++
			}
		case o.owner >= 0:
			g.give(o.owner, u)
		}
	}
	return nil
}

// fanOut: the fan-out source pays 20 or more fresh thief wallets.
func (s *story) fanOut(g *gen) error {
	src := s.fanSrc
	n := len(s.fanSlots)
	if src.val < int64(n)*50_000 {
		return fmt.Errorf("simulate: the fan-out's %d sat cannot pay %d wallets", src.val, n)
	}
	parts := g.split(src.val-100_000, n)
	outs := make([]payee, n)
	for k := range outs {
		outs[k] = payee{s.fresh(g), parts[k]}
	}
	b, err := g.build([]utxo{src}, outs, n-1, true)
	if err != nil {
		return fmt.Errorf("simulate: fan-out: %w", err)
	}
	id, us := g.commit(b, outs)
	s.fanTx = id
	s.fees += b.fee
	if err := s.spend(src, id); err != nil {
		return err
	}
	for k, u := range us {
		s.hold(u)
		if sl := s.fanSlots[k]; sl >= 0 {
			s.slots[sl], s.filled[sl] = u, true
		}
	}
	return nil
}

// peel: the next step of chain c. The peel, 1 to 8% of the value, goes to
// a thief wallet or an exchange deposit address; the rest continues.
func (s *story) peel(g *gen, c int) error {
	head := s.heads[c]
	if head.val == 0 {
		return fmt.Errorf("simulate: peel chain %d has no head", c)
	}
	st := s.chains[c][s.steps[c]]
	to := addr(0)
	if st.dest < 0 {
		to = s.fresh(g)
	} else {
		m := s.mules[st.dest]
		to = m[g.rng.IntN(len(m))]
	}
	outs := []payee{{to, roundSig(g.pct(head.val, 1, 8), 3)}, {s.fresh(g), 0}}
	rest := 1
	if g.rng.IntN(2) == 0 {
		outs[0], outs[1], rest = outs[1], outs[0], 0
	}
	b, err := g.build([]utxo{head}, outs, rest, true)
	if err != nil {
		return fmt.Errorf("simulate: peel: %w", err)
	}
	id, us := g.commit(b, outs)
	s.fees += b.fee
	if err := s.spend(head, id); err != nil {
		return err
	}
	s.peelTxs[c] = append(s.peelTxs[c], id)
	peel := us[1-rest]
	if st.dest < 0 {
		s.hold(peel)
		if st.slot >= 0 {
			s.slots[st.slot], s.filled[st.slot] = peel, true
		}
	} else {
		s.toExchange(g, st.dest, peel)
	}
	s.hold(us[rest])
	s.heads[c] = us[rest]
	s.steps[c]++
	if s.steps[c] == len(s.chains[c]) {
		if sl := s.chainFinal[c]; sl >= 0 {
			s.slots[sl], s.filled[sl] = us[rest], true
		}
	}
	return nil
}

// deposit: the thief deposits a holding at exchange A or B through one of
// its accounts there, all of it or part with change.
func (s *story) deposit(g *gen, slot int) error {
	if !s.filled[slot] {
		return errInfeasible
	}
	h := s.slots[slot]
	p := s.plans[slot]
	m := s.mules[p.ex]
	to := m[g.rng.IntN(len(m))]
	outs := []payee{{to, 0}}
	rest := 0
	if p.change {
		outs = []payee{{to, roundSig(g.pct(h.val, 50, 90), 3)}, {s.fresh(g), 0}}
		rest = 1
		if g.rng.IntN(2) == 0 {
			outs[0], outs[1], rest = outs[1], outs[0], 0
		}
	}
	b, err := g.build([]utxo{h}, outs, rest, true)
	if errors.Is(err, errInfeasible) && p.change {
		outs, rest = []payee{{to, 0}}, 0
		b, err = g.build([]utxo{h}, outs, rest, true)
	}
	if err != nil {
		return err
	}
	id, us := g.commit(b, outs)
	s.fees += b.fee
	if err := s.spend(h, id); err != nil {
		return err
	}
	for k, u := range us {
		if outs[k].a == to {
			s.toExchange(g, p.ex, u)
		} else {
			s.hold(u)
		}
	}
	return nil
}
