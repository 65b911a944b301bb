package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/chain/ethereum/gethtest"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

func initData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "init", "--data", dir)
	return dir
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
}

// TestIngestBlocks ingests block files through the command line and reads
// the index back in the JSON shapes the commands promise.
func TestIngestBlocks(t *testing.T) {
	dir := initData(t)
	files := append([]string{btcdtest.Testdata(t, "blk_0_to_14131.dat")}, sharedtest.Glob(t, "bitcoin/block*")...)
	// --blocks FILE...: the files as separate arguments, as a shell glob
	// gives them (a comma-separated list works too).
	out := mustRun(t, append([]string{"ingest", "bitcoin", "--data", dir, "--network", "mainnet", "--blocks"}, files...)...)
	if !strings.Contains(out, "bitcoin") || !strings.Contains(out, "14134 blocks") {
		t.Errorf("ingest output: %q", out)
	}

	var status []struct {
		Chain    string `json:"chain"`
		Blocks   int    `json:"blocks"`
		Segments []struct {
			Start struct{ Height int64 } `json:"start"`
			End   struct{ Height int64 } `json:"end"`
		} `json:"segments"`
		Gaps []struct{ From, To int64 } `json:"gaps"`
	}
	decodeJSON(t, mustRun(t, "chain", "status", "--data", dir, "--json"), &status)
	if len(status) != 1 || status[0].Chain != "bitcoin" || status[0].Blocks != 14134 || len(status[0].Segments) != 3 || len(status[0].Gaps) != 2 {
		t.Fatalf("chain status: %+v", status)
	}
	if g := status[0].Gaps[0]; g.From != 14132 || g.To != 277646 {
		t.Errorf("first gap %+v", g)
	}
	if text := mustRun(t, "chain", "status", "--data", dir); !strings.Contains(text, "gap") || !strings.Contains(text, "277647-277647") {
		t.Errorf("chain status text: %q", text)
	}

	// Block 170: the first payment between people.
	var tx struct {
		Hash   string `json:"hash"`
		Height int64  `json:"height"`
		Inputs []struct {
			PrevTx   string `json:"prev_tx"`
			PrevVout *int   `json:"prev_vout"`
			Address  string `json:"address"`
			Value    string `json:"value"`
		} `json:"inputs"`
		Outputs []struct {
			N       *int   `json:"n"`
			Address string `json:"address"`
			Script  string `json:"script"`
			Value   string `json:"value"`
		} `json:"outputs"`
	}
	decodeJSON(t, mustRun(t, "chain", "tx", "bitcoin", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--data", dir, "--json"), &tx)
	if tx.Height != 170 || len(tx.Inputs) != 1 || len(tx.Outputs) != 2 {
		t.Fatalf("tx: %+v", tx)
	}
	in := tx.Inputs[0]
	if in.PrevTx != "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9" || in.PrevVout == nil || *in.PrevVout != 0 || in.Value != "5000000000" || in.Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
		t.Errorf("input: %+v", in)
	}
	wantOuts := []struct{ addr, value string }{{"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "1000000000"}, {"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "4000000000"}}
	for i, o := range tx.Outputs {
		if o.N == nil || *o.N != i || o.Address != wantOuts[i].addr || o.Value != wantOuts[i].value || !strings.HasSuffix(o.Script, "ac") {
			t.Errorf("output %d: %+v", i, o)
		}
	}

	var addr struct {
		Chain    string `json:"chain"`
		Address  string `json:"address"`
		TxCount  int    `json:"tx_count"`
		Balances []struct {
			Asset     string `json:"asset"`
			Balance   string `json:"balance"`
			Received  string `json:"received"`
			Sent      string `json:"sent"`
			TxCount   int    `json:"tx_count"`
			FirstSeen struct {
				Tx     string `json:"tx"`
				Height int64  `json:"height"`
			} `json:"first_seen"`
			LastSeen struct {
				Height int64 `json:"height"`
			} `json:"last_seen"`
		} `json:"balances"`
	}
	decodeJSON(t, mustRun(t, "chain", "address", "bitcoin", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--data", dir, "--json"), &addr)
	if len(addr.Balances) != 1 {
		t.Fatalf("address: %+v", addr)
	}
	b := addr.Balances[0]
	if addr.Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" || b.Asset != "bitcoin:BTC" || b.Received != "19500000000" || b.Sent != "17700000000" || b.Balance != "1800000000" || b.FirstSeen.Height != 9 || b.LastSeen.Height < 170 || addr.TxCount == 0 {
		t.Errorf("address: %+v", addr)
	}
	if text := mustRun(t, "chain", "address", "bitcoin", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--data", dir); !strings.Contains(text, "1800000000") {
		t.Errorf("address text: %q", text)
	}

	// Bad input: one line, exit 2, nothing changed.
	data, err := os.ReadFile(btcdtest.Testdata(t, "blk_0_to_14131.dat"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.dat")
	if err := os.WriteFile(cut, data[:100_000], 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := initData(t)
	wantUsage(t, run(t, nil, "", "ingest", "bitcoin", "--data", fresh, "--blocks", cut), "cut.dat")
	decodeJSON(t, mustRun(t, "chain", "status", "--data", fresh, "--json"), &status)
	if len(status) != 1 || status[0].Blocks == 0 {
		t.Errorf("the blocks before the cut are not applied: %+v", status)
	}
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"ingest", "bitcoin", "--data", dir, "--network", "moonnet", "--blocks", cut}, "moonnet"},
		{[]string{"ingest", "bitcoin", "--data", dir}, "--blocks"},
		{[]string{"ingest", "bitcoin", "--data", dir, cut}, "unexpected argument"},
		{[]string{"ingest", "bitcoin", "--data", dir, "--blocks", cut, "--rpc", "http://127.0.0.1:1"}, "one of them"},
		{[]string{"ingest", "bitcoin", "--data", dir, "--blocks", filepath.Join(dir, "missing.dat")}, "missing.dat"},
		{[]string{"ingest", "bitcoin", "--data", dir, "--rpc", "ftp://node"}, "--rpc"},
		{[]string{"ingest", "bitcoin", "--data", filepath.Join(t.TempDir(), "none"), "--blocks", cut}, "init"},
		{[]string{"ingest", "ethereum", "--data", dir}, "--rpc"},
		{[]string{"ingest", "ethereum", "--data", dir, "--rpc", "http://127.0.0.1:1", "--chain", "bitcoin"}, "bitcoin"},
		{[]string{"chain", "tx", "dogecoin", "00", "--data", dir}, "dogecoin"},
		{[]string{"chain", "tx", "bitcoin", strings.Repeat("ab", 32), "--data", dir}, "no transaction"},
		{[]string{"chain", "address", "bitcoin", "1NotAnAddress", "--data", dir}, "1NotAnAddress"},
		{[]string{"chain", "address", "bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "--data", dir}, "no address"},
	} {
		wantUsage(t, run(t, nil, "", c.args...), c.mention)
	}
	decodeJSON(t, mustRun(t, "chain", "status", "--data", dir, "--json"), &status)
	if status[0].Blocks != 14134 {
		t.Errorf("after the bad commands: %+v", status)
	}
}

// TestIngestWhileServing: a node that serves the folder holds its chain
// index, so an ingest fails at once with one line that says so.
func TestIngestWhileServing(t *testing.T) {
	dir := initData(t)
	url, stop := startServe(t, dir)
	defer stop()
	r := run(t, nil, "", "ingest", "bitcoin", "--data", dir, "--blocks", btcdtest.Testdata(t, "blk_0_to_14131.dat"))
	wantUsage(t, r, "a node holds")
	resp, err := http.Get(url + "/api/v1/chains/bitcoin/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("chain status without a token: %s", resp.Status)
	}
}

// startServe runs serve on dir with extra flags until stop is called,
// and returns its URL.
func startServe(t *testing.T, dir string, extra ...string) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	args := append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-format", "json"}, extra...)
	go func() {
		done <- Run(ctx, args, strings.NewReader(""), io.Discard, pw, func(string) (string, bool) { return "", false })
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var rec struct {
			Msg string `json:"msg"`
			URL string `json:"url"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving" {
			url = rec.URL
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		cancel()
		t.Fatalf("serve did not report its URL (exit %d)", <-done)
	}
	return url, func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d after the stop signal", code)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}
}

// getJSON GETs url with a bearer token and decodes a 200 answer into v.
func getJSON(t *testing.T, url, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		decodeJSON(t, string(body), v)
	} else if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("GET %s: %s without a JSON error: %s", url, resp.Status, body)
		}
	}
	return resp.StatusCode
}

// TestIngestBtcdRPC ingests a real btcd over JSON-RPC through the command
// line, then a serving node follows the same btcd and answers the chain
// endpoints of the REST API as new blocks arrive.
func TestIngestBtcdRPC(t *testing.T) {
	node := btcdtest.Start(t)
	hashes := node.Generate(t, 110)
	alice := btcdtest.NewKey(t, node.Params, "cli alice")
	first := node.CoinbaseCoin(t, hashes[0])
	pay := btcdtest.Sign(t, []btcdtest.Coin{first}, []*wire.TxOut{wire.NewTxOut(12_3456_7890, alice.Script(t, alice.P2PKH)), wire.NewTxOut(50e8-12_3456_7890-5000, node.Miner.Script(t, node.Miner.P2PKH))})
	node.Send(t, pay)
	node.Generate(t, 1)

	dir := initData(t)
	mustRun(t, "ingest", "bitcoin", "--data", dir, "--network", "simnet", "--rpc", node.URL, "--rpcuser", node.User, "--rpcpassword", node.Password)
	var addr struct {
		Balances []struct {
			Asset   string `json:"asset"`
			Balance string `json:"balance"`
		} `json:"balances"`
	}
	for _, a := range []string{alice.P2PKH.EncodeAddress(), node.Miner.P2PKH.EncodeAddress()} {
		decodeJSON(t, mustRun(t, "chain", "address", "bitcoin-simnet", a, "--data", dir, "--json"), &addr)
		if want := fmt.Sprint(node.Balance(t, a)); len(addr.Balances) != 1 || addr.Balances[0].Balance != want {
			t.Errorf("%s: %+v, btcd says %s", a, addr.Balances, want)
		}
	}
	// A second ingest has nothing to do; a wrong password is a clear
	// error.
	mustRun(t, "ingest", "bitcoin", "--data", dir, "--network", "simnet", "--rpc", node.URL, "--rpcuser", node.User, "--rpcpassword", node.Password)
	r := run(t, nil, "", "ingest", "bitcoin", "--data", dir, "--network", "simnet", "--rpc", node.URL, "--rpcuser", node.User, "--rpcpassword", "wrong")
	if r.code == 0 || !strings.Contains(r.stderr, "401") && !strings.Contains(strings.ToLower(r.stderr), "auth") {
		t.Errorf("wrong password: exit %d, %q", r.code, r.stderr)
	}

	// serve follows the node.
	mustRun(t, "org", "create", "alpha", "--data", dir)
	tok := strings.TrimSpace(mustRun(t, "token", "create", "--org", "alpha", "--role", "reader", "--data", dir))
	url, stop := startServe(t, dir, "--follow-bitcoin", node.URL, "--follow-bitcoin-network", "simnet", "--follow-bitcoin-user", node.User, "--follow-bitcoin-password", node.Password, "--follow-interval", "100ms")
	defer stop()
	node.Generate(t, 2)
	want := node.BestHash(t)
	var st struct {
		Blocks int `json:"blocks"`
		Tip    struct {
			Height int64  `json:"height"`
			Hash   string `json:"hash"`
		} `json:"tip"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code := getJSON(t, url+"/api/v1/chains/bitcoin-simnet/status", tok, &st); code != 200 {
			t.Fatalf("status: HTTP %d", code)
		}
		if st.Tip.Hash == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not follow the node to %s: %+v", want, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Blocks != int(node.Height(t))+1 {
		t.Errorf("status over REST: %+v", st)
	}
	var tx struct {
		Inputs []struct {
			PrevTx  string `json:"prev_tx"`
			Address string `json:"address"`
			Value   string `json:"value"`
		} `json:"inputs"`
		Outputs []struct {
			Address string `json:"address"`
			Value   string `json:"value"`
		} `json:"outputs"`
	}
	if code := getJSON(t, url+"/api/v1/chains/bitcoin-simnet/tx/"+pay.TxHash().String(), tok, &tx); code != 200 {
		t.Fatalf("tx: HTTP %d", code)
	}
	if len(tx.Inputs) != 1 || tx.Inputs[0].Value != "5000000000" || tx.Inputs[0].Address != node.Miner.P2PKH.EncodeAddress() || len(tx.Outputs) != 2 || tx.Outputs[0].Value != "1234567890" || tx.Outputs[0].Address != alice.P2PKH.EncodeAddress() {
		t.Errorf("tx over REST: %+v", tx)
	}
	if code := getJSON(t, url+"/api/v1/chains/bitcoin-simnet/address/"+node.Miner.P2PKH.EncodeAddress(), tok, &addr); code != 200 {
		t.Fatalf("address: HTTP %d", code)
	}
	if want := fmt.Sprint(node.Balance(t, node.Miner.P2PKH.EncodeAddress())); addr.Balances[0].Balance != want {
		t.Errorf("miner over REST: %+v, btcd says %s", addr.Balances, want)
	}
	for path, code := range map[string]int{
		"/api/v1/chains/dogecoin/status":                                     404,
		"/api/v1/chains/bitcoin-simnet/tx/" + strings.Repeat("00", 32):       404,
		"/api/v1/chains/bitcoin-simnet/tx/nothex":                            400,
		"/api/v1/chains/bitcoin-simnet/address/1BvBMSEYstWetqTFn5Au4m4GFg7x": 400,
	} {
		if got := getJSON(t, url+path, tok, nil); got != code {
			t.Errorf("GET %s: HTTP %d, want %d", path, got, code)
		}
	}
}

// TestIngestEthereumRPC ingests a real geth dev node through the command
// line: the dev account pays two fresh accounts, one payment in a later
// run than the other, and the index's balances and transfers must match
// the node's.
func TestIngestEthereumRPC(t *testing.T) {
	node := gethtest.Start(t)
	send := func(to string, wei *big.Int) string {
		var hash string
		node.MustCall(t, "eth_sendTransaction", &hash, map[string]string{"from": node.Dev, "to": to, "value": "0x" + wei.Text(16)})
		node.WaitReceipt(t, hash)
		return hash
	}
	bob := "0x00000000000000000000000000000000000b0b00"
	carol := "0x00000000000000000000000000000000000ca201"
	amount, _ := new(big.Int).SetString("1500000000000000001", 10)
	h1 := send(bob, amount)

	dir := initData(t)
	mustRun(t, "ingest", "ethereum", "--data", dir, "--rpc", node.URL)
	h2 := send(carol, big.NewInt(7))
	send(bob, big.NewInt(1))
	mustRun(t, "ingest", "ethereum", "--data", dir, "--rpc", node.URL)

	balanceAt := func(addr, block string) *big.Int {
		var s string
		node.MustCall(t, "eth_getBalance", &s, addr, block)
		v, ok := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), 16)
		if !ok {
			t.Fatalf("eth_getBalance %s: %q", addr, s)
		}
		return v
	}
	var view struct {
		Balances []struct {
			Asset   string `json:"asset"`
			Balance string `json:"balance"`
		} `json:"balances"`
	}
	for _, a := range []string{bob, carol, node.Dev} {
		decodeJSON(t, mustRun(t, "chain", "address", "ethereum", a, "--data", dir, "--json"), &view)
		// The dev account's genesis allocation is in no block.
		want := new(big.Int).Sub(balanceAt(a, "latest"), balanceAt(a, "0x0"))
		if len(view.Balances) != 1 || view.Balances[0].Asset != "ethereum:ETH" || view.Balances[0].Balance != want.String() {
			t.Errorf("%s: %+v, the node says %s", a, view.Balances, want)
		}
	}

	var tx struct {
		Transfers []struct {
			From   string `json:"from"`
			To     string `json:"to"`
			Asset  string `json:"asset"`
			Amount string `json:"amount"`
			Kind   string `json:"kind"`
		} `json:"transfers"`
	}
	decodeJSON(t, mustRun(t, "chain", "tx", "ethereum", h1, "--data", dir, "--json"), &tx)
	kinds := map[string]string{}
	for _, x := range tx.Transfers {
		kinds[x.Kind] = x.Amount
		if x.Asset != "ethereum:ETH" || x.From != node.Dev {
			t.Errorf("transfer %+v", x)
		}
	}
	if kinds["native"] != amount.String() || kinds["fee"] == "" && kinds["burn"] == "" {
		t.Errorf("transfers of %s: %+v", h1, tx.Transfers)
	}
	decodeJSON(t, mustRun(t, "chain", "tx", "ethereum", h2, "--data", dir, "--json"), &tx)
	if tx.Transfers[0].To != carol || tx.Transfers[0].Amount != "7" {
		t.Errorf("transfers of %s: %+v", h2, tx.Transfers)
	}
}
