package ethereum

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/ethereum/gethtest"
)

// testKey is an account whose key the test holds: the dev node signs only
// for its own developer account.
type testKey struct {
	priv *secp256k1.PrivateKey
	addr string
}

func newTestKey(seed string) testKey {
	h := sha256.Sum256([]byte("cointrail ethereum test key " + seed))
	priv := secp256k1.PrivKeyFromBytes(h[:])
	pub := priv.PubKey().SerializeUncompressed() // 0x04 || X || Y
	return testKey{priv: priv, addr: "0x" + hex.EncodeToString(keccak256(pub[1:])[12:])}
}

// signLegacy signs a legacy transaction with EIP-155 replay protection
// and returns its raw encoding and hash.
func (k testKey) signLegacy(chainID, nonce uint64, gasPrice *big.Int, gas uint64, to string, value *big.Int, data []byte) ([]byte, string) {
	var toBytes []byte
	if to != "" {
		toBytes, _ = hex.DecodeString(to[2:])
	}
	fields := [][]byte{rlpUint(nonce), rlpBig(gasPrice), rlpUint(gas), rlpBytes(toBytes), rlpBig(value), rlpBytes(data)}
	sigHash := keccak256(rlpList(append(fields, rlpUint(chainID), rlpUint(0), rlpUint(0))...))
	sig := ecdsa.SignCompact(k.priv, sigHash, false) // [27 + recovery id] || r || s
	v := chainID*2 + 35 + uint64(sig[0]-27)
	raw := rlpList(append(fields, rlpUint(v), rlpBig(new(big.Int).SetBytes(sig[1:33])), rlpBig(new(big.Int).SetBytes(sig[33:65])))...)
	return raw, "0x" + hex.EncodeToString(keccak256(raw))
}

// selector returns the 4-byte function selector of an ABI signature.
func selector(sig string) []byte { return keccak256([]byte(sig))[:4] }

// abiCall encodes a call: the selector, then the arguments.
func abiCall(sig string, args ...any) []byte {
	return append(selector(sig), abiWords(args...)...)
}

// abiWords encodes static arguments as 32-byte words: addresses given as
// 0x hex strings, integers as *big.Int.
func abiWords(args ...any) []byte {
	var out []byte
	for _, a := range args {
		word := make([]byte, 32)
		switch v := a.(type) {
		case string:
			b, _ := hex.DecodeString(v[2:])
			copy(word[32-len(b):], b)
		case *big.Int:
			v.FillBytes(word)
		}
		out = append(out, word...)
	}
	return out
}

func contractBin(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "contracts", name+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("%s.bin: %v", name, err)
	}
	return code
}

func weiOf(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

func hexBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), 16)
	if !ok {
		panic(s)
	}
	return n
}

// devChain drives the dev node: it sends transactions and records what
// each should have moved.
type devChain struct {
	t    *testing.T
	node *gethtest.Node
	want map[string]wantTx // by transaction hash, fees not included
	sent []string          // hashes in order
}

func (d *devChain) send(hash string, failed bool, transfers ...string) gethtest.Receipt {
	d.t.Helper()
	r := d.node.WaitReceipt(d.t, hash)
	if got := r.Status == "0x0"; got != failed {
		d.t.Fatalf("transaction %s: status %s, want failed=%v", hash, r.Status, failed)
	}
	d.want[hash] = wantTx{hash: hash, failed: failed, transfers: transfers}
	d.sent = append(d.sent, hash)
	return r
}

// fromDev sends a transaction from the developer account, signed by the
// node (an EIP-1559 transaction).
func (d *devChain) fromDev(to string, value *big.Int, data []byte, failed bool, transfers ...string) gethtest.Receipt {
	d.t.Helper()
	tx := map[string]any{"from": d.node.Dev, "value": "0x" + value.Text(16)}
	if to != "" {
		tx["to"] = to
	}
	if data != nil {
		tx["input"] = "0x" + hex.EncodeToString(data)
	}
	var hash string
	d.node.MustCall(d.t, "eth_sendTransaction", &hash, tx)
	return d.send(hash, failed, transfers...)
}

// fromKey sends a legacy transaction signed with k at 2 gwei.
func (d *devChain) fromKey(k testKey, to string, value *big.Int, data []byte, gas uint64, failed bool, transfers ...string) gethtest.Receipt {
	d.t.Helper()
	var nonce string
	d.node.MustCall(d.t, "eth_getTransactionCount", &nonce, k.addr, "pending")
	raw, hash := k.signLegacy(d.node.ChainID, hexBig(nonce).Uint64(), big.NewInt(2e9), gas, to, value, data)
	var got string
	d.node.MustCall(d.t, "eth_sendRawTransaction", &got, "0x"+hex.EncodeToString(raw))
	if got != hash {
		d.t.Fatalf("node says hash %s, signed %s", got, hash)
	}
	return d.send(hash, failed, transfers...)
}

// fees returns the fee transfers of a mined transaction, worked out from
// the node's own receipt and block: gasUsed × baseFee burned, gasUsed ×
// (effectiveGasPrice − baseFee) to the fee recipient.
func (d *devChain) fees(hash, from, feeRecipient string) []string {
	d.t.Helper()
	var r struct {
		BlockNumber, GasUsed, EffectiveGasPrice string
	}
	d.node.MustCall(d.t, "eth_getTransactionReceipt", &r, hash)
	var b struct {
		BaseFeePerGas, Miner string
	}
	d.node.MustCall(d.t, "eth_getBlockByNumber", &b, r.BlockNumber, false)
	if b.Miner != feeRecipient {
		d.t.Fatalf("block %s: fee recipient %s, want %s", r.BlockNumber, b.Miner, feeRecipient)
	}
	used, price, base := hexBig(r.GasUsed), hexBig(r.EffectiveGasPrice), hexBig(b.BaseFeePerGas)
	var out []string
	if burn := new(big.Int).Mul(used, base); burn.Sign() > 0 {
		out = append(out, fmt.Sprintf("burn %s -> burn %s %s", from, burn, eth))
	}
	if tip := new(big.Int).Mul(used, new(big.Int).Sub(price, base)); tip.Sign() > 0 {
		out = append(out, fmt.Sprintf("fee %s -> %s %s %s", from, feeRecipient, tip, eth))
	}
	return out
}

// TestDevNode runs the source against a real geth dev node carrying
// payments, a token, a failed transaction, value forwarded by a contract,
// a reverted subcall, a SELFDESTRUCT and a withdrawal, and checks every
// transfer, then every balance against the node's.
func TestDevNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	node := gethtest.Start(t)
	ctx := context.Background()
	d := &devChain{t: t, node: node, want: map[string]wantTx{}}

	A, B, C := newTestKey("A"), newTestKey("B"), newTestKey("C")
	D := newTestKey("D").addr // receives a SELFDESTRUCT's balance
	W := newTestKey("W").addr // receives a withdrawal
	fee := newTestKey("fee").addr
	dev := node.Dev
	node.MustCall(t, "dev_setFeeRecipient", nil, fee)
	native := func(from, to, amount string) string {
		return fmt.Sprintf("native %s -> %s %s %s", from, to, amount, eth)
	}

	// Payments: the developer account funds A and B (EIP-1559,
	// signed by the node); A and B pay on (legacy, signed here).
	d.fromDev(A.addr, weiOf("10000000000000000000"), nil, false, native(dev, A.addr, "10000000000000000000"))
	d.fromDev(B.addr, weiOf("5000000000000000000"), nil, false, native(dev, B.addr, "5000000000000000000"))
	d.fromKey(A, B.addr, weiOf("1500000000000000000"), nil, 21000, false, native(A.addr, B.addr, "1500000000000000000"))
	d.fromKey(B, C.addr, weiOf("250000000000000001"), nil, 21000, false, native(B.addr, C.addr, "250000000000000001"))

	// The token: minted to the developer account by its constructor.
	supply := weiOf("1000000000000000000000000")
	r := d.fromDev("", new(big.Int), append(contractBin(t, "Token"), abiWords(supply)...), false)
	token := *r.ContractAddress
	var deployTx struct{ Nonce string }
	node.MustCall(t, "eth_getTransactionByHash", &deployTx, r.TransactionHash)
	if want := createAddress(dev, hexBig(deployTx.Nonce).Uint64()); token != want {
		t.Errorf("token at %s, derived address %s", token, want)
	}
	tok := "ethereum:" + token
	tokenLine := func(from, to, amount string) string {
		return fmt.Sprintf("token %s -> %s %s %s", from, to, amount, tok)
	}
	d.want[r.TransactionHash] = wantTx{hash: r.TransactionHash, transfers: []string{tokenLine("0x0000000000000000000000000000000000000000", dev, supply.String())}}

	transfer := func(to string, amount *big.Int) []byte { return abiCall("transfer(address,uint256)", to, amount) }
	d.fromDev(token, new(big.Int), transfer(A.addr, weiOf("1000000000000000007")), false, tokenLine(dev, A.addr, "1000000000000000007"))
	d.fromKey(A, token, new(big.Int), transfer(B.addr, big.NewInt(123456789)), 500000, false, tokenLine(A.addr, B.addr, "123456789"))

	// Failed transactions: a token transfer beyond B's balance, and ether
	// sent to the token, which has no receive function. Both pay their fee
	// and move nothing else.
	for _, r := range []gethtest.Receipt{
		d.fromKey(B, token, new(big.Int), transfer(C.addr, weiOf("1000000000000000000000000000000")), 500000, true),
		d.fromKey(A, token, weiOf("500000000000000000"), nil, 500000, true),
	} {
		if hexBig(r.GasUsed).Uint64() >= 500000 {
			t.Errorf("%s used all its gas: it ran out, it did not revert", r.TransactionHash)
		}
	}

	// The forwarder, created with 2 ETH.
	r = d.fromKey(A, "", weiOf("2000000000000000000"), contractBin(t, "Forwarder"), 3000000, false)
	fwd := *r.ContractAddress
	d.want[r.TransactionHash] = wantTx{hash: r.TransactionHash, transfers: []string{native(A.addr, fwd, "2000000000000000000")}}
	internalLine := func(from, to, amount string) string {
		return fmt.Sprintf("internal %s -> %s %s %s", from, to, amount, eth)
	}

	// forward: B's 0.3 ETH go on to C in an internal call.
	d.fromKey(B, fwd, weiOf("300000000000000000"), abiCall("forward(address)", C.addr), 500000, false,
		native(B.addr, fwd, "300000000000000000"), internalLine(fwd, C.addr, "300000000000000000"))
	// tryForward to the token: the subcall reverts, the forwarder keeps
	// the 0.1 ETH, the transaction succeeds.
	tryHash := d.fromKey(B, fwd, weiOf("100000000000000000"), abiCall("tryForward(address)", token), 500000, false,
		native(B.addr, fwd, "100000000000000000")).TransactionHash

	// A withdrawal of 1234 gwei to W, in the next block.
	node.MustCall(t, "dev_addWithdrawal", nil, map[string]any{"index": "0x0", "validatorIndex": "0x7", "address": W, "amount": "0x4d2"})
	// destroy: the forwarder's 2.1 ETH go to D through SELFDESTRUCT.
	d.fromKey(A, fwd, new(big.Int), abiCall("destroy(address)", D), 500000, false, internalLine(fwd, D, "2100000000000000000"))

	var tipHex string
	node.MustCall(t, "eth_blockNumber", &tipHex)
	tip := hexBig(tipHex).Int64()

	src, err := NewRPC(node.URL, "ethereum", RPCOptions{Rules: &Rules{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := src.Tip(ctx); err != nil || got != tip {
		t.Fatalf("Tip = %d, %v; want %d", got, err, tip)
	}
	blocks := make([]*Block, tip+1)
	for h := range tip + 1 {
		if blocks[h], err = src.Block(ctx, h); err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		if !blocks[h].Traced {
			t.Errorf("block %d not traced: %v", h, blocks[h].TraceError)
		}
	}
	if src.Tracing() != Supported || src.BlockReceipts() != Supported {
		t.Errorf("tracing %v, block receipts %v", src.Tracing(), src.BlockReceipts())
	}

	// Every transaction sent, with exactly the transfers expected.
	txs := map[string]chain.Tx{}
	var withdrawals []string
	for _, b := range blocks {
		for _, tx := range b.Txs {
			txs[tx.Hash] = tx
			if strings.HasSuffix(tx.Hash, ":withdrawals") {
				withdrawals = append(withdrawals, lines(tx.Transfers)...)
				if tx.Hash != b.Hash+":withdrawals" {
					t.Errorf("withdrawals of block %s in %s", b.Hash, tx.Hash)
				}
			}
		}
	}
	if len(txs) != len(d.sent)+1 {
		t.Errorf("%d transactions on the chain (with the withdrawals), %d sent", len(txs), len(d.sent))
	}
	for _, hash := range d.sent {
		w := d.want[hash]
		var tx struct{ From string }
		node.MustCall(t, "eth_getTransactionByHash", &tx, hash)
		w.transfers = append(w.transfers, d.fees(hash, tx.From, fee)...)
		got, ok := txs[hash]
		if !ok {
			t.Errorf("transaction %s not read", hash)
			continue
		}
		checkTxs(t, []chain.Tx{got}, []wantTx{w})
	}
	if want := []string{"withdrawal mint -> " + W + " 1234000000000 " + eth}; !slices.Equal(withdrawals, want) {
		t.Errorf("withdrawals %v, want %v", withdrawals, want)
	}

	// The reverted subcall is in the node's own trace, with its value.
	var trace struct {
		Calls []struct {
			Error string `json:"error"`
			Value string `json:"value"`
		} `json:"calls"`
	}
	node.MustCall(t, "debug_traceTransaction", &trace, tryHash, map[string]string{"tracer": "callTracer"})
	if len(trace.Calls) != 1 || trace.Calls[0].Error == "" || hexBig(trace.Calls[0].Value).String() != "100000000000000000" {
		t.Errorf("tryForward trace: %+v", trace)
	}

	// Balances: what the transfers add up to is what the node holds.
	checkBalances(t, node, blocks, tip, token)

	// The same chain through a node without eth_getBlockReceipts and
	// without the debug API: receipts come one by one, internal transfers
	// are unknown and said to be, everything else is the same.
	proxy := httptest.NewServer(withoutMethods(t, node.URL, "eth_getBlockReceipts", "debug_traceBlockByNumber"))
	t.Cleanup(proxy.Close)
	plain, err := NewRPC(proxy.URL, "ethereum", RPCOptions{Rules: &Rules{}})
	if err != nil {
		t.Fatal(err)
	}
	for h := range tip + 1 {
		b, err := plain.Block(ctx, h)
		if err != nil {
			t.Fatalf("block %d without debug API: %v", h, err)
		}
		if len(b.Txs) != len(blocks[h].Txs) {
			t.Fatalf("block %d: %d transactions, traced %d", h, len(b.Txs), len(blocks[h].Txs))
		}
		hasTxs := slices.ContainsFunc(b.Txs, func(tx chain.Tx) bool { return !strings.Contains(tx.Hash, ":") })
		if hasTxs && (b.Traced || !errors.Is(b.TraceError, ErrNoDebugAPI)) {
			t.Errorf("block %d: traced %v %v", h, b.Traced, b.TraceError)
		}
		for i, tx := range b.Txs {
			var want []string
			for _, tr := range blocks[h].Txs[i].Transfers {
				if tr.Kind != chain.Internal {
					want = append(want, line(tr))
				}
			}
			if got := lines(tx.Transfers); !slices.Equal(got, want) || tx.Failed != blocks[h].Txs[i].Failed {
				t.Errorf("block %d tx %s without trace:\n got  %v\n want %v", h, tx.Hash, got, want)
			}
		}
	}
	if plain.Tracing() != Unsupported || plain.BlockReceipts() != Unsupported {
		t.Errorf("through the proxy: tracing %v, block receipts %v", plain.Tracing(), plain.BlockReceipts())
	}
}

// checkBalances checks, for every address the transfers touch, that its
// balance at genesis plus its transfers is its balance at the tip, in
// ether and in the token (whose balances start at zero).
func checkBalances(t *testing.T, node *gethtest.Node, blocks []*Block, tip int64, token string) {
	t.Helper()
	net := map[string]*big.Int{}
	tokenNet := map[string]*big.Int{}
	move := func(m map[string]*big.Int, tr chain.Transfer) {
		for _, a := range []string{tr.From, tr.To} {
			if m[a] == nil {
				m[a] = new(big.Int)
			}
		}
		m[tr.From].Sub(m[tr.From], tr.Amount)
		m[tr.To].Add(m[tr.To], tr.Amount)
	}
	for _, b := range blocks {
		for _, tx := range b.Txs {
			for _, tr := range tx.Transfers {
				if tr.Amount.Sign() < 0 {
					t.Errorf("negative amount in %s: %s", tx.Hash, line(tr))
				}
				switch tr.Asset {
				case eth:
					move(net, tr)
				case "ethereum:" + token:
					move(tokenNet, tr)
				default:
					t.Errorf("unexpected asset in %s: %s", tx.Hash, line(tr))
				}
			}
		}
	}
	if len(net) < 10 {
		t.Errorf("only %d addresses moved ether", len(net))
	}
	tipHex := hexInt(tip)
	for addr, delta := range net {
		if addr == chain.BurnAddress || addr == chain.RewardSource {
			continue
		}
		var before, after string
		node.MustCall(t, "eth_getBalance", &before, addr, "0x0")
		node.MustCall(t, "eth_getBalance", &after, addr, tipHex)
		if want := new(big.Int).Add(hexBig(before), delta); want.Cmp(hexBig(after)) != 0 {
			t.Errorf("%s: genesis %s + transfers %s = %s, node says %s", addr, hexBig(before), delta, want, hexBig(after))
		}
	}
	for addr, delta := range tokenNet {
		if addr == "0x0000000000000000000000000000000000000000" {
			continue // the mint's source
		}
		var got string
		node.MustCall(t, "eth_call", &got, map[string]string{"to": token, "input": "0x" + hex.EncodeToString(abiCall("balanceOf(address)", addr))}, tipHex)
		if hexBig(got).Cmp(delta) != 0 {
			t.Errorf("%s: token transfers give %s, balanceOf %s", addr, delta, hexBig(got))
		}
	}
}

// withoutMethods proxies JSON-RPC requests to url, answering the given
// methods with -32601, as a node that does not offer them.
func withoutMethods(t *testing.T, url string, methods ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(body, &req) == nil && slices.Contains(methods, req.Method) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"the method %s does not exist/is not available"}}`, req.ID, req.Method)
			return
		}
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
}
