package bitcoin_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

// verboseTx is a transaction as getblock verbosity 2 and
// getrawtransaction (verbose) show it.
type verboseTx struct {
	Txid string `json:"txid"`
	Hex  string `json:"hex"`
	Vin  []struct {
		Coinbase string `json:"coinbase"`
		Txid     string `json:"txid"`
		Vout     uint32 `json:"vout"`
	} `json:"vin"`
	Vout []struct {
		Value        json.Number `json:"value"`
		N            uint32      `json:"n"`
		ScriptPubKey struct {
			Hex       string   `json:"hex"`
			Type      string   `json:"type"`
			Address   string   `json:"address"`
			Addresses []string `json:"addresses"`
		} `json:"scriptPubKey"`
	} `json:"vout"`
}

// verboseBlock is a block as getblock verbosity 2 shows it.
type verboseBlock struct {
	Hash              string      `json:"hash"`
	Height            int64       `json:"height"`
	Version           int32       `json:"version"`
	PreviousBlockHash string      `json:"previousblockhash"`
	MerkleRoot        string      `json:"merkleroot"`
	Time              int64       `json:"time"`
	Bits              string      `json:"bits"`
	Nonce             uint32      `json:"nonce"`
	NTx               int         `json:"nTx"`
	Tx                []verboseTx `json:"tx"`
}

func decodeJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("%s: %v", filepath.Base(path), err)
	}
}

// rebuild serializes a block from its verbose JSON: the header from its
// fields, then each transaction's hex. It returns nil when the JSON does
// not carry the transactions.
func rebuild(tb testing.TB, vb *verboseBlock) []byte {
	tb.Helper()
	if len(vb.Tx) == 0 || vb.Tx[0].Hex == "" {
		return nil
	}
	hash := func(s string) chainhash.Hash {
		if s == "" {
			return chainhash.Hash{}
		}
		h, err := chainhash.NewHashFromStr(s)
		if err != nil {
			tb.Fatal(err)
		}
		return *h
	}
	bits, err := strconv.ParseUint(vb.Bits, 16, 32)
	if err != nil {
		tb.Fatal(err)
	}
	h := wire.BlockHeader{
		Version:    vb.Version,
		PrevBlock:  hash(vb.PreviousBlockHash),
		MerkleRoot: hash(vb.MerkleRoot),
		Timestamp:  time.Unix(vb.Time, 0),
		Bits:       uint32(bits),
		Nonce:      vb.Nonce,
	}
	var buf bytes.Buffer
	if err := h.Serialize(&buf); err != nil {
		tb.Fatal(err)
	}
	if err := wire.WriteVarInt(&buf, 0, uint64(len(vb.Tx))); err != nil {
		tb.Fatal(err)
	}
	for _, tx := range vb.Tx {
		b, err := hex.DecodeString(tx.Hex)
		if err != nil {
			tb.Fatal(err)
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

// coreKinds maps Bitcoin Core's scriptPubKey types to output kinds.
var coreKinds = map[string]string{
	"pubkey":                "p2pk",
	"pubkeyhash":            "p2pkh",
	"scripthash":            "p2sh",
	"witness_v0_keyhash":    "p2wpkh",
	"witness_v0_scripthash": "p2wsh",
	"witness_v1_taproot":    "p2tr",
	"multisig":              "multisig",
	"nulldata":              "nulldata",
	"nonstandard":           "nonstandard",
	"witness_unknown":       "nonstandard",
}

// checkTx compares a decoded transaction with the node's verbose JSON of
// it: txid, inputs, and each output's value (converted from BTC exactly),
// script, type and address.
func checkTx(t *testing.T, got chain.Tx, want verboseTx) {
	t.Helper()
	if got.Hash != want.Txid {
		t.Errorf("txid %s, want %s", got.Hash, want.Txid)
	}
	coinbase := len(want.Vin) == 1 && want.Vin[0].Coinbase != ""
	if got.Coinbase != coinbase || len(got.Inputs) != len(want.Vin) {
		t.Errorf("tx %s: coinbase %v with %d inputs, want %v with %d", want.Txid, got.Coinbase, len(got.Inputs), coinbase, len(want.Vin))
		return
	}
	for i, in := range want.Vin {
		wantPrev := chain.Outpoint{Tx: in.Txid, Index: in.Vout}
		if coinbase {
			wantPrev = chain.Outpoint{}
		}
		if got.Inputs[i].Prev != wantPrev {
			t.Errorf("tx %s input %d spends %v, want %v", want.Txid, i, got.Inputs[i].Prev, wantPrev)
		}
	}
	if len(got.Outputs) != len(want.Vout) {
		t.Fatalf("tx %s: %d outputs, want %d", want.Txid, len(got.Outputs), len(want.Vout))
	}
	for i, w := range want.Vout {
		o := got.Outputs[i]
		if o.Index != w.N || o.Value != btcdtest.Satoshi(t, w.Value) || hex.EncodeToString(o.Script) != w.ScriptPubKey.Hex {
			t.Errorf("tx %s output %d: n %d value %d script %x; want %d %s (%s BTC) %s", want.Txid, i, o.Index, o.Value, o.Script, w.N, w.Value, w.Value, w.ScriptPubKey.Hex)
		}
		if kind, ok := coreKinds[w.ScriptPubKey.Type]; !ok || o.Kind != kind {
			t.Errorf("tx %s output %d: kind %s, node says %q", want.Txid, i, o.Kind, w.ScriptPubKey.Type)
		}
		addrs := w.ScriptPubKey.Addresses
		if w.ScriptPubKey.Address != "" {
			addrs = []string{w.ScriptPubKey.Address}
		}
		if len(addrs) == 1 && o.Address != addrs[0] {
			t.Errorf("tx %s output %d: address %s, node says %s", want.Txid, i, o.Address, addrs[0])
		}
	}
}

// TestRecordedGetBlock decodes the blocks of real getblock (verbosity 2)
// responses, rebuilt from their fields and transaction hex, and compares
// them with what Bitcoin Core said of them.
func TestRecordedGetBlock(t *testing.T) {
	files := sharedtest.Glob(t, "bitcoin/rpc/getblock_*.json")
	rebuilt := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var vb verboseBlock
			decodeJSON(t, path, &vb)
			raw := rebuild(t, &vb)
			if raw == nil {
				// getblock_..._None.json holds no transactions (its header
				// fields are block 50001's under block 500000's hash).
				t.Skipf("no transactions in the response: nothing to decode")
			}
			rebuilt++
			b, err := bitcoin.DecodeBlock(bitcoin.Mainnet, raw)
			if err != nil {
				t.Fatal(err)
			}
			if b.Hash != vb.Hash || b.Parent != vb.PreviousBlockHash || b.Time.Unix() != vb.Time {
				t.Errorf("block %s parent %q time %d; node says %s %q %d", b.Hash, b.Parent, b.Time.Unix(), vb.Hash, vb.PreviousBlockHash, vb.Time)
			}
			if b.Height != -1 {
				t.Errorf("version %d block: Height %d, want -1 (no BIP34 height)", vb.Version, b.Height)
			}
			if len(b.Txs) != len(vb.Tx) || (vb.NTx != 0 && vb.NTx != len(b.Txs)) {
				t.Fatalf("%d txs, node says %d (nTx %d)", len(b.Txs), len(vb.Tx), vb.NTx)
			}
			for i, tx := range vb.Tx {
				checkTx(t, b.Txs[i], tx)
			}
		})
	}
	if rebuilt < 5 {
		t.Errorf("rebuilt %d blocks, want the 5 of heights 0, 1, 50000, 50001, 50002", rebuilt)
	}
}

// TestRecordedGetRawTransaction decodes the hex of real getrawtransaction
// responses.
func TestRecordedGetRawTransaction(t *testing.T) {
	for _, path := range sharedtest.Glob(t, "bitcoin/rpc/getrawtransaction_*.json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var vt verboseTx
			decodeJSON(t, path, &vt)
			raw, err := hex.DecodeString(vt.Hex)
			if err != nil {
				t.Fatal(err)
			}
			tx, err := bitcoin.DecodeTx(bitcoin.Mainnet, raw)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "getrawtransaction_"), ".json"); tx.Hash != want {
				t.Errorf("txid %s, file is named for %s", tx.Hash, want)
			}
			checkTx(t, tx, vt)
			if _, err := bitcoin.DecodeTx(bitcoin.Mainnet, raw[:len(raw)-1]); !errors.Is(err, bitcoin.ErrTruncated) {
				t.Errorf("DecodeTx(truncated) = %v", err)
			}
		})
	}
}

// fakeNode serves recorded JSON-RPC responses the way Bitcoin Core does
// (errors with HTTP 500, unknown methods with 404), or, with boolVerbose,
// like btcd before 0.22, whose getblock wants a boolean.
type fakeNode struct {
	t           *testing.T
	user        string
	mu          sync.Mutex
	pass        string
	boolVerbose bool
	count       json.RawMessage
	hashes      map[int64]string
	blocks      map[string]string // hash -> raw block hex
	calls       map[string]int
	// override, when set, answers every request instead.
	override http.HandlerFunc
}

func newFakeNode(t *testing.T) *fakeNode {
	n := &fakeNode{t: t, user: "rpcuser", pass: "rpcpass", hashes: map[int64]string{}, blocks: map[string]string{}, calls: map[string]int{}}
	count, err := os.ReadFile(sharedtest.Path(t, "bitcoin", "rpc", "getblockcount.json"))
	if err != nil {
		t.Fatal(err)
	}
	n.count = bytes.TrimSpace(count)
	for _, path := range sharedtest.Glob(t, "bitcoin/rpc/getblockhash_*.json") {
		h, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "getblockhash_"), ".json"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		var hash string
		decodeJSON(t, path, &hash)
		n.hashes[h] = hash
	}
	for _, path := range sharedtest.Glob(t, "bitcoin/rpc/getblock_*_2.json") {
		var vb verboseBlock
		decodeJSON(t, path, &vb)
		if raw := rebuild(t, &vb); raw != nil {
			n.blocks[vb.Hash] = hex.EncodeToString(raw)
		}
	}
	return n
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	override, pass := n.override, n.pass
	n.mu.Unlock()
	if override != nil {
		override(w, r)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != n.user || p != pass {
		w.WriteHeader(http.StatusUnauthorized) // Bitcoin Core: no body
		return
	}
	var req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	n.calls[req.Method]++
	n.mu.Unlock()
	reply := func(status int, result any, code int, msg string) {
		resp := map[string]any{"result": result, "error": nil, "id": req.ID}
		if msg != "" {
			resp["error"] = map[string]any{"code": code, "message": msg}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(resp)
	}
	switch req.Method {
	case "getblockcount":
		reply(200, n.count, 0, "")
	case "getbestblockhash":
		c, _ := strconv.ParseInt(string(n.count), 10, 64)
		reply(200, n.hashes[c], 0, "")
	case "getblockhash":
		var h int64
		if len(req.Params) != 1 || json.Unmarshal(req.Params[0], &h) != nil {
			reply(500, nil, -1, "bad params")
			return
		}
		hash, ok := n.hashes[h]
		if !ok {
			reply(500, nil, -8, "Block height out of range")
			return
		}
		reply(200, hash, 0, "")
	case "getblock":
		var hash string
		if len(req.Params) != 2 || json.Unmarshal(req.Params[0], &hash) != nil {
			reply(500, nil, -1, "bad params")
			return
		}
		var verbose bool
		var verbosity int
		if n.boolVerbose {
			if json.Unmarshal(req.Params[1], &verbose) != nil {
				reply(200, nil, -32602, "invalid params: parameter #2 'verbose' must be type bool")
				return
			}
		} else if json.Unmarshal(req.Params[1], &verbosity) != nil || verbosity != 0 {
			reply(500, nil, -8, "this fake serves verbosity 0 only")
			return
		}
		hexBlock, ok := n.blocks[hash]
		if !ok {
			reply(500, nil, -5, "Block not found")
			return
		}
		reply(200, hexBlock, 0, "")
	default:
		reply(404, nil, -32601, "Method not found")
	}
}

func (n *fakeNode) callsOf(method string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[method]
}

// TestRPCRecorded serves the recorded responses from an httptest server
// and reads them through the RPC source, end to end.
func TestRPCRecorded(t *testing.T) {
	for _, boolVerbose := range []bool{false, true} {
		t.Run(fmt.Sprintf("boolean verbose %v", boolVerbose), func(t *testing.T) {
			fake := newFakeNode(t)
			fake.boolVerbose = boolVerbose
			srv := httptest.NewServer(fake)
			defer srv.Close()
			src, err := bitcoin.NewRPC(srv.URL, bitcoin.Mainnet, bitcoin.RPCOptions{User: "rpcuser", Password: "rpcpass"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if src.Chain() != "bitcoin" {
				t.Errorf("Chain() = %q", src.Chain())
			}
			tip, err := src.Tip(ctx)
			if err != nil || tip != 500000 {
				t.Fatalf("Tip = %d, %v; want 500000", tip, err)
			}
			best, err := src.BestBlockHash(ctx)
			if err != nil || best != "00000000000000000024fb37364cbf81fd49cc2d51c09c75c35433c3a1945d04" {
				t.Errorf("BestBlockHash = %s, %v", best, err)
			}
			for _, h := range []int64{0, 1, 50000, 50001, 50002} {
				b, err := src.BlockAt(ctx, h)
				if err != nil {
					t.Fatalf("BlockAt(%d): %v", h, err)
				}
				if b.Height != h || b.Hash != fake.hashes[h] || b.Chain != "bitcoin" {
					t.Errorf("BlockAt(%d) = height %d hash %s, want %s", h, b.Height, b.Hash, fake.hashes[h])
				}
			}
			// getblock took one extra call to learn the boolean, once.
			wantGetblock := 5
			if boolVerbose {
				wantGetblock = 6
			}
			if got := fake.callsOf("getblock"); got != wantGetblock {
				t.Errorf("%d getblock calls, want %d", got, wantGetblock)
			}
			// Block 500000's hash is recorded, its transactions are not.
			if _, err := src.BlockAt(ctx, 500000); !errors.Is(err, chain.ErrNotFound) {
				t.Errorf("BlockAt(500000) = %v, want ErrNotFound", err)
			}
			if _, err := src.BlockAt(ctx, 7); !errors.Is(err, chain.ErrNotFound) {
				t.Errorf("BlockAt(7) = %v, want ErrNotFound", err)
			}
			var re *bitcoin.RPCError
			if _, err := src.BlockAt(ctx, 7); !errors.As(err, &re) || re.Code != -8 || re.Method != "getblockhash" || !strings.Contains(err.Error(), "Block height out of range") {
				t.Errorf("BlockAt(7) = %v, want the node's error -8", err)
			}
			if _, err := src.BlockAt(ctx, -1); !errors.Is(err, chain.ErrNotFound) {
				t.Errorf("BlockAt(-1) = %v, want ErrNotFound", err)
			}
			if err := src.Call(ctx, "getnetworkhashps", nil, nil); !errors.As(err, &re) || re.Code != -32601 {
				t.Errorf("unknown method: %v, want error -32601", err)
			}
		})
	}
}

// TestRPCAuth covers user and password, credentials in the URL, and
// Bitcoin Core's cookie file, re-read when the node rotates it.
func TestRPCAuth(t *testing.T) {
	fake := newFakeNode(t)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()

	t.Run("wrong password", func(t *testing.T) {
		src, _ := bitcoin.NewRPC(srv.URL, bitcoin.Mainnet, bitcoin.RPCOptions{User: "rpcuser", Password: "nope"})
		_, err := src.Tip(ctx)
		if fault.CodeOf(err) != fault.Unauthorized || !strings.Contains(err.Error(), "401") {
			t.Errorf("Tip = %v, want an unauthorized error naming HTTP 401", err)
		}
		if strings.Contains(err.Error(), "nope") {
			t.Errorf("error shows the password: %v", err)
		}
	})
	t.Run("URL credentials", func(t *testing.T) {
		u := strings.Replace(srv.URL, "http://", "http://rpcuser:rpcpass@", 1)
		src, err := bitcoin.NewRPC(u, bitcoin.Mainnet, bitcoin.RPCOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Tip(ctx); err != nil {
			t.Errorf("Tip: %v", err)
		}
		bad, _ := bitcoin.NewRPC(strings.Replace(srv.URL, "http://", "http://rpcuser:secret99@", 1), bitcoin.Mainnet, bitcoin.RPCOptions{})
		if _, err := bad.Tip(ctx); err == nil || strings.Contains(err.Error(), "secret99") {
			t.Errorf("Tip with a wrong URL password = %v (must fail without showing it)", err)
		}
	})
	t.Run("cookie", func(t *testing.T) {
		f := newFakeNode(t)
		f.user = "__cookie__"
		f.pass = "aaaa"
		srv := httptest.NewServer(f)
		defer srv.Close()
		cookie := filepath.Join(t.TempDir(), ".cookie")
		if err := os.WriteFile(cookie, []byte("__cookie__:aaaa"), 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := bitcoin.NewRPC(srv.URL, bitcoin.Mainnet, bitcoin.RPCOptions{CookieFile: cookie})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Tip(ctx); err != nil {
			t.Fatalf("Tip: %v", err)
		}
		// The node restarts with a new cookie.
		f.mu.Lock()
		f.pass = "bbbb"
		f.mu.Unlock()
		if err := os.WriteFile(cookie, []byte("__cookie__:bbbb\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Tip(ctx); err != nil {
			t.Fatalf("Tip after the cookie changed: %v", err)
		}
		missing, _ := bitcoin.NewRPC(srv.URL, bitcoin.Mainnet, bitcoin.RPCOptions{CookieFile: filepath.Join(t.TempDir(), "none")})
		if _, err := missing.Tip(ctx); fault.CodeOf(err) != fault.Unauthorized {
			t.Errorf("Tip with a missing cookie file = %v", err)
		}
	})
}

// TestRPCErrors covers what a node, or something pretending to be one,
// can answer.
func TestRPCErrors(t *testing.T) {
	genesisHex := hex.EncodeToString(genesis(t, (&chaincfg.MainNetParams)))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		call    func(*bitcoin.RPC) error
		code    fault.Code // or "" for an *RPCError
		rpcCode int
		msg     string
	}{
		{
			name: "HTTP error page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
			},
			code: fault.Unavailable, msg: "HTTP 502",
		},
		{
			name:    "garbage",
			handler: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello, I am not a node") },
			code:    fault.Malformed, msg: "not a JSON-RPC response",
		},
		{
			name:    "RPC error",
			handler: respond(`{"result":null,"error":{"code":-28,"message":"Loading block index..."},"id":%s}`),
			rpcCode: -28, msg: "node error -28: Loading block index...",
		},
		{
			name:    "RPC error with HTTP 500",
			handler: respondStatus(500, `{"result":null,"error":{"code":-1,"message":"boom"},"id":%s}`),
			rpcCode: -1, msg: "boom",
		},
		{
			name:    "malformed error",
			handler: respond(`{"result":null,"error":"oops","id":%s}`),
			code:    fault.Malformed, msg: "malformed error",
		},
		{
			name:    "wrong id",
			handler: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"result":5,"error":null,"id":999999}`) },
			code:    fault.Malformed, msg: "response id 999999",
		},
		{
			name:    "null result",
			handler: respond(`{"result":null,"error":null,"id":%s}`),
			code:    fault.Malformed, msg: "empty result",
		},
		{
			name:    "wrong result type",
			handler: respond(`{"result":"many","error":null,"id":%s}`),
			code:    fault.Malformed, msg: "unexpected result",
		},
		{
			name:    "not a block hash",
			handler: respond(`{"result":"abc","error":null,"id":%s}`),
			call:    func(s *bitcoin.RPC) error { _, err := s.BlockHash(context.Background(), 1); return err },
			code:    fault.Malformed, msg: "not a block hash",
		},
		{
			name:    "block not hex",
			handler: respond(`{"result":"zz","error":null,"id":%s}`),
			call: func(s *bitcoin.RPC) error {
				_, err := s.BlockByHash(context.Background(), (&chaincfg.MainNetParams).GenesisHash.String())
				return err
			},
			code: fault.Malformed, msg: "not hex",
		},
		{
			name:    "another block than asked",
			handler: respond(`{"result":"` + genesisHex + `","error":null,"id":%s}`),
			call: func(s *bitcoin.RPC) error {
				_, err := s.BlockByHash(context.Background(), strings.Repeat("11", 32))
				return err
			},
			code: fault.Malformed, msg: "returned block 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
		},
		{
			name:    "too large",
			handler: respond(`{"result":` + strings.Repeat(" ", 100<<10) + `1,"error":null,"id":%s}`),
			code:    fault.TooLarge, msg: "larger than",
		},
		{
			name: "timeout",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leave
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			code: fault.Unavailable, msg: "deadline exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			src, err := bitcoin.NewRPC(srv.URL, bitcoin.Mainnet, bitcoin.RPCOptions{Timeout: 300 * time.Millisecond, MaxResponseBytes: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			call := tt.call
			if call == nil {
				call = func(s *bitcoin.RPC) error { _, err := s.Tip(context.Background()); return err }
			}
			err = call(src)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			var re *bitcoin.RPCError
			if tt.code == "" {
				if !errors.As(err, &re) || re.Code != tt.rpcCode {
					t.Errorf("error %v, want node error %d", err, tt.rpcCode)
				}
			} else if fault.CodeOf(err) != tt.code {
				t.Errorf("error %v has code %s, want %s", err, fault.CodeOf(err), tt.code)
			}
		})
	}
}

// respond answers with body, its %s replaced by the request's id.
func respond(body string) http.HandlerFunc { return respondStatus(200, body) }

func respondStatus(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.WriteHeader(status)
		fmt.Fprintf(w, body, req.ID)
	}
}

// TestRPCHTTPS reads over TLS with the caller's HTTP client.
func TestRPCHTTPS(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		respond(`{"result":42,"error":null,"id":%s}`)(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	defer srv.Close()
	src, err := bitcoin.NewRPC(srv.URL, bitcoin.Testnet, bitcoin.RPCOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if tip, err := src.Tip(context.Background()); err != nil || tip != 42 {
		t.Errorf("Tip = %d, %v", tip, err)
	}
	// Without the server's CA, the certificate is refused.
	plain, _ := bitcoin.NewRPC(srv.URL, bitcoin.Testnet, bitcoin.RPCOptions{})
	if _, err := plain.Tip(context.Background()); fault.CodeOf(err) != fault.Unavailable {
		t.Errorf("Tip with an unknown CA = %v", err)
	}
}

func TestNewRPC(t *testing.T) {
	for _, tt := range []struct {
		url string
		net bitcoin.Network
		ok  bool
	}{
		{"http://127.0.0.1:8332", bitcoin.Mainnet, true},
		{"https://node.example:8332/wallet/w1", bitcoin.Testnet, true},
		{"ftp://127.0.0.1:8332", bitcoin.Mainnet, false},
		{"127.0.0.1:8332", bitcoin.Mainnet, false},
		{"http://", bitcoin.Mainnet, false},
		{"http://127.0.0.1:8332", 0, false},
		{"http://[::1", bitcoin.Mainnet, false},
	} {
		_, err := bitcoin.NewRPC(tt.url, tt.net, bitcoin.RPCOptions{})
		if (err == nil) != tt.ok {
			t.Errorf("NewRPC(%q, %v) = %v, want ok %v", tt.url, tt.net, err, tt.ok)
		}
	}
}
