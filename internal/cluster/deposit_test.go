package cluster_test

import (
	"math/big"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/trace"
)

// TestDeposit: addresses that receive and then pay an exchange's hot
// wallet, some as a deposit address sweeps and some not.
func TestDeposit(t *testing.T) {
	const usdt = "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7"
	hot, shop, nobody := eth("hot"), eth("shop"), eth("nobody")
	gwei := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e9)) }
	// A sweep's gas: 21,000 at 10 gwei, half tip, half burned.
	fee := gwei(105_000)
	sweepFee := func(from string) []chain.Transfer {
		return []chain.Transfer{xfer(from, "", fee, chain.Fee), xfer(from, chain.BurnAddress, fee, chain.Burn)}
	}
	less := func(x *big.Int, y ...*big.Int) *big.Int {
		z := new(big.Int).Set(x)
		for _, v := range y {
			z.Sub(z, v)
		}
		return z
	}
	receive := func(b *builder, name string, wei *big.Int) {
		b.transfers("in-"+name, xfer(eth("user-"+name), eth(name), wei, chain.Native))
	}
	forward := func(b *builder, name, to string, wei *big.Int) {
		b.transfers("fwd-"+name, append([]chain.Transfer{xfer(eth(name), to, wei, chain.Native)}, sweepFee(eth(name))...)...)
	}

	b := MustBuilder(t, "ethereum")
	// Height 0: the receipts.
	for _, name := range []string{"sweep", "short", "late", "unlabelled", "to-shop", "edge"} {
		receive(b, name, ether(10, 0))
	}
	receive(b, "big", ether(100, 0))    // beyond 64 bits of wei
	receive(b, "small", ether(0, 1e16)) // 0.01 ETH: the fee is over 1%
	receive(b, "twice", ether(3, 0))
	b.transfers("in-token", chain.Transfer{From: eth("user-token"), To: eth("token"), Asset: usdt, Amount: big.NewInt(1_000_000_000), Kind: chain.Token})
	// The second receipt a forward to nobody consumes.
	receive(b, "consumed", ether(10, 0))
	b.mine()
	// Height 1.
	receive(b, "twice-2", ether(7, 0))
	b.txs[len(b.txs)-1].Transfers[0].To = eth("twice")
	forward(b, "consumed", nobody, less(ether(10, 0), fee, fee))
	// The edge receipt, forwarded exactly 100 blocks later.
	b.transfers("in-edge-2", xfer(eth("user-edge-2"), eth("edge-2"), ether(10, 0), chain.Native))
	b.mine()
	for b.height < 5 {
		b.mine()
	}
	// Height 5: the forwards.
	forward(b, "sweep", hot, less(ether(10, 0), fee, fee))
	forward(b, "short", hot, ether(5, 0))
	forward(b, "unlabelled", nobody, less(ether(10, 0), fee, fee))
	forward(b, "to-shop", shop, less(ether(10, 0), fee, fee))
	forward(b, "big", hot, less(ether(100, 0), fee, fee))
	forward(b, "small", hot, less(ether(0, 1e16), fee, fee))
	forward(b, "twice", hot, less(ether(10, 0), fee, fee))
	b.transfers("fwd-token", chain.Transfer{From: eth("token"), To: hot, Asset: usdt, Amount: big.NewInt(999_500_000), Kind: chain.Token})
	// Received at height 0, forwarded all of it but a consumed receipt.
	forward(b, "consumed", hot, ether(10, 0))
	b.mine()
	for b.height < 101 {
		b.mine()
	}
	// Height 101: 101 blocks after a receipt; 100 after edge-2's.
	forward(b, "late", hot, less(ether(10, 0), fee, fee))
	b.transfers("fwd-edge-2", append([]chain.Transfer{xfer(eth("edge-2"), hot, less(ether(10, 0), fee, fee), chain.Native)}, sweepFee(eth("edge-2"))...)...)
	b.mine()

	c := cluster.New(b.graph())
	MustUpdate(t, c)
	l, err := cluster.NewLabeler(c, map[string]trace.Label{
		hot:  {Entity: "Exchange B", Category: "exchange", Confidence: conf(90), Source: "tagpack"},
		shop: {Entity: "Shop", Category: "merchant", Confidence: conf(90)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ok   bool
		tx   string
		note string
	}{
		{"sweep", true, "fwd-sweep", "forwarded 9999790000000000000 of the 10000000000000000000 it received up to 5 blocks before"},
		{"big", true, "fwd-big", "of the 100000000000000000000 it received"},
		{"small", true, "fwd-small", "forwarded 9790000000000000 of the 10000000000000000 "},
		{"twice", true, "fwd-twice", "of the 10000000000000000000 it received up to 5 blocks before"},
		{"token", true, "fwd-token", "forwarded 999500000 of the 1000000000"},
		{"edge-2", true, "fwd-edge-2", "it received up to 100 blocks before"},
		{"short", false, "", ""},
		{"late", false, "", ""},
		{"unlabelled", false, "", ""},
		{"to-shop", false, "", ""},
		{"consumed", false, "", ""},
		{"user-sweep", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := l.Deposit(b.addr(eth(tc.name)))
			if ok != tc.ok {
				t.Fatalf("Deposit = %+v, %v", got, ok)
			}
			if !ok {
				if got, ok := l.LabelOf(b.addr(eth(tc.name))); ok {
					t.Errorf("LabelOf = %+v", got)
				}
				return
			}
			if got.Entity != "Exchange B" || got.Category != "exchange" || got.Source != "tagpack" || got.Via != cluster.ViaDeposit ||
				got.Carrier != hot || got.Tx != b.txHash(tc.tx) || got.Confidence == nil || *got.Confidence != 45 {
				t.Errorf("Deposit = %+v", got)
			}
			if !strings.HasPrefix(got.Note, "deposit address of Exchange B: ") || !strings.Contains(got.Note, tc.note) || !strings.HasSuffix(got.Note, "to "+hot+" in "+b.txHash(tc.tx)) {
				t.Errorf("note %q", got.Note)
			}
			if viaLabel, ok := l.LabelOf(b.addr(eth(tc.name))); !ok || viaLabel.Note != got.Note {
				t.Errorf("LabelOf = %+v", viaLabel)
			}
		})
	}
	// The hot wallet has its own label.
	if got, ok := l.LabelOf(b.addr(hot)); !ok || got.Via != cluster.ViaOwn || *got.Confidence != 90 {
		t.Errorf("hot wallet: %+v", got)
	}
}

// TestDepositUTXO: the deposit heuristic is for account chains.
func TestDepositUTXO(t *testing.T) {
	b := mergeChain(t)
	c := cluster.New(b.graph())
	MustUpdate(t, c)
	l, err := cluster.NewLabeler(c, map[string]trace.Label{"h": {Entity: "Exchange", Category: "exchange"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := l.Deposit(b.addr("a")); ok {
		t.Errorf("Deposit on bitcoin: %+v", got)
	}
}
