package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
)

// clusterHash returns a deterministic hex hash for a name.
func clusterHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// btcAddr returns a valid P2PKH address for a name.
func btcAddr(t *testing.T, name string) string {
	t.Helper()
	h := sha256.Sum256([]byte(name))
	a, err := btcutil.NewAddressPubKeyHash(h[:20], &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// MustClusterData returns a data folder whose chain index holds a small
// Bitcoin chain (alice and bob spent together, then bob and carol; dave
// apart) and a small Ethereum chain (dep receives and forwards to hot),
// and whose intel labels carol and hot as exchanges (TLP:AMBER, owned by
// ops), by a TagPack.
func MustClusterData(t *testing.T) (dir string, addr map[string]string) {
	t.Helper()
	dir = MustInit(t)
	addr = map[string]string{}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin"} {
		addr[n] = btcAddr(t, n)
	}
	for _, n := range []string{"user", "dep", "hot"} {
		addr[n] = "0x" + clusterHash(n)[:40]
	}
	pay := func(i uint32, who string, v int64) chain.Output {
		return chain.Output{Index: i, Value: v, Kind: "p2pkh", Address: addr[who], Key: addr[who]}
	}
	spend := func(tx string, i uint32) chain.Input {
		return chain.Input{Prev: chain.Outpoint{Tx: clusterHash(tx), Index: i}}
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	wei := func(eth int64) *big.Int { return new(big.Int).Mul(big.NewInt(eth), big.NewInt(1e18)) }
	fee := big.NewInt(21_000 * 1e9)
	blocks := []*chain.Block{
		{Chain: "bitcoin", Height: 0, Hash: clusterHash("b0"), Parent: clusterHash("none"), Time: at, Txs: []chain.Tx{
			{Hash: clusterHash("cb"), Coinbase: true, Outputs: []chain.Output{pay(0, "alice", 50), pay(1, "bob", 50), pay(2, "bob", 50), pay(3, "carol", 50), pay(4, "dave", 50)}},
		}},
		{Chain: "bitcoin", Height: 1, Hash: clusterHash("b1"), Parent: clusterHash("b0"), Time: at, Txs: []chain.Tx{
			{Hash: clusterHash("ab"), Inputs: []chain.Input{spend("cb", 0), spend("cb", 1)}, Outputs: []chain.Output{pay(0, "erin", 99)}},
			{Hash: clusterHash("bc"), Inputs: []chain.Input{spend("cb", 2), spend("cb", 3)}, Outputs: []chain.Output{pay(0, "erin", 99)}},
		}},
		{Chain: "ethereum", Height: 0, Hash: "0x" + clusterHash("e0"), Parent: "0x" + clusterHash("none"), Time: at, Txs: []chain.Tx{
			{Hash: "0x" + clusterHash("in"), Transfers: []chain.Transfer{{From: addr["user"], To: addr["dep"], Asset: "ethereum:ETH", Amount: wei(5), Kind: chain.Native}}},
		}},
		{Chain: "ethereum", Height: 1, Hash: "0x" + clusterHash("e1"), Parent: "0x" + clusterHash("e0"), Time: at, Txs: []chain.Tx{
			{Hash: "0x" + clusterHash("fwd"), Transfers: []chain.Transfer{
				{From: addr["dep"], To: addr["hot"], Asset: "ethereum:ETH", Amount: new(big.Int).Sub(wei(5), fee), Kind: chain.Native},
				{From: addr["dep"], To: "", Asset: "ethereum:ETH", Amount: fee, Kind: chain.Fee},
			}},
		}},
	}
	st, err := chainstore.Open(chainDir(dir), chainstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if err := st.Apply(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	pack := filepath.Join(t.TempDir(), "exchanges.yaml")
	yaml := "title: Exchanges\ncreator: Test\nlastmod: 2024-01-01\ncategory: exchange\ntags:\n" +
		"- address: " + addr["carol"] + "\n  currency: BTC\n  label: Exchange A\n  confidence: 80\n" +
		"- address: '" + addr["hot"] + "'\n  currency: ETH\n  label: Exchange B\n  confidence: ownership\n"
	if err := os.WriteFile(pack, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "import", "tagpack", pack, "--data", dir)
	return dir, addr
}

func TestClusterCommand(t *testing.T) {
	dir, addr := MustClusterData(t)
	alice, bob, carol, dave := addr["alice"], addr["bob"], addr["carol"], addr["dave"]

	text := mustRun(t, "cluster", "explain", "bitcoin", alice, carol, "--data", dir)
	for _, want := range []string{
		"bitcoin " + alice + ": cluster of 3 addresses\n",
		"  label: Exchange A (exchange), confidence 40: via cluster of 3 addresses, label on " + carol + "\n",
		"  label: Exchange A (exchange), confidence 80: its own label\n",
		alice + " and " + carol + " are one entity, through 2 transactions:\n",
		"  " + clusterHash("ab") + " (block 1) spends from " + alice + " and " + bob + "\n",
		"  " + clusterHash("bc") + " (block 1) spends from " + bob + " and " + carol + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explain text lacks %q:\n%s", want, text)
		}
	}

	type label struct {
		Entity     string `json:"entity"`
		Category   string `json:"category"`
		Confidence *int   `json:"confidence"`
		Via        string `json:"via"`
		Carrier    string `json:"carrier"`
		Tx         string `json:"tx"`
		Note       string `json:"note"`
	}
	type explained struct {
		Chain       string `json:"chain"`
		Address     string `json:"address"`
		ClusterSize int    `json:"cluster_size"`
		Label       *label `json:"label"`
		Other       *struct {
			Address     string `json:"address"`
			ClusterSize int    `json:"cluster_size"`
		} `json:"other"`
		Same *bool `json:"same"`
		Path []struct {
			Tx       string `json:"tx"`
			Height   int    `json:"height"`
			From, To string
		} `json:"path"`
	}
	var ex explained
	decodeJSON(t, mustRun(t, "cluster", "explain", "bitcoin", alice, carol, "--data", dir, "--json"), &ex)
	if ex.Chain != "bitcoin" || ex.Address != alice || ex.ClusterSize != 3 || ex.Label == nil || ex.Label.Via != "cluster" || *ex.Label.Confidence != 40 ||
		ex.Label.Carrier != carol || ex.Other == nil || ex.Other.Address != carol || ex.Same == nil || !*ex.Same || len(ex.Path) != 2 ||
		ex.Path[0].Tx != clusterHash("ab") || ex.Path[0].From != alice || ex.Path[0].To != bob || ex.Path[1].To != carol {
		t.Errorf("explain JSON: %+v", ex)
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"not one entity", []string{alice, dave}, []string{
			"bitcoin " + dave + ": cluster of 1 address (no transaction spends from it with another)\n  no label\n",
			alice + " and " + dave + " are not one entity",
		}},
		{"one address", []string{bob}, []string{"bitcoin " + bob + ": cluster of 3 addresses\n  label: Exchange A"}},
		// alpha may not see the TLP:AMBER pack.
		{"another organisation's view", []string{alice, "--as", "alpha"}, []string{"cluster of 3 addresses\n  no label\n"}},
		{"a deposit address", []string{"ethereum", addr["dep"]}, []string{
			"ethereum " + addr["dep"] + ": cluster of 1 address",
			"  label: Exchange B (exchange), confidence 50: deposit address of Exchange B: forwarded",
			"to " + addr["hot"] + " in 0x" + clusterHash("fwd"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"cluster", "explain"}, tc.args...)
			if tc.args[0] != "ethereum" {
				args = append([]string{"cluster", "explain", "bitcoin"}, tc.args...)
			}
			out := mustRun(t, append(args, "--data", dir)...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	var shown struct {
		Chain       string   `json:"chain"`
		Address     string   `json:"address"`
		ClusterSize int      `json:"cluster_size"`
		Addresses   []string `json:"addresses"`
		Truncated   bool     `json:"truncated"`
	}
	decodeJSON(t, mustRun(t, "cluster", "show", "bitcoin", carol, "--data", dir, "--json"), &shown)
	if shown.ClusterSize != 3 || strings.Join(shown.Addresses, " ") != alice+" "+bob+" "+carol || shown.Truncated {
		t.Errorf("show: %+v", shown)
	}
	decodeJSON(t, mustRun(t, "cluster", "show", "bitcoin", carol, "--data", dir, "--json", "--limit", "1"), &shown)
	if shown.ClusterSize != 3 || len(shown.Addresses) != 1 || !shown.Truncated {
		t.Errorf("show --limit 1: %+v", shown)
	}
	if text := mustRun(t, "cluster", "show", "bitcoin", alice, "--data", dir, "--limit", "2"); !strings.Contains(text, "cluster of 3 addresses\n  "+alice+"\n  "+bob+"\n  ... and 1 more") {
		t.Errorf("show text: %q", text)
	}

	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"cluster", "explain", "dogecoin", alice, "--data", dir}, "dogecoin"},
		{[]string{"cluster", "explain", "bitcoin", "1NotAnAddress", "--data", dir}, "1NotAnAddress"},
		{[]string{"cluster", "explain", "bitcoin", alice, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "--data", dir}, "no address 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 on bitcoin"},
		{[]string{"cluster", "explain", "bitcoin", "--data", dir}, "cluster explain"},
		{[]string{"cluster", "explain", "bitcoin", alice, bob, carol, "--data", dir}, "cluster explain"},
		{[]string{"cluster", "explain", "bitcoin", alice, "--data", dir, "--as", "nobody"}, "nobody"},
		{[]string{"cluster", "explain", "bitcoin", alice, "--data", filepath.Join(t.TempDir(), "none")}, "init"},
		// A chain cointrail knows that the index has no block of.
		{[]string{"cluster", "explain", "bsc", "0x" + clusterHash("absent")[:40], "--data", dir}, "no address"},
		{[]string{"cluster", "show", "bitcoin", alice, "--data", dir, "--limit", "-1"}, "--limit"},
		{[]string{"cluster", "show", "bitcoin", "--data", dir}, "cluster show"},
		{[]string{"cluster", "show", "ethereum", "0x12", "--data", dir}, "0x12"},
		{[]string{"cluster", "frobnicate"}, "frobnicate"},
	} {
		wantUsage(t, run(t, nil, "", c.args...), c.mention)
	}
}
