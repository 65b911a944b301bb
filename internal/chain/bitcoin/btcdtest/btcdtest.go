// Package btcdtest runs a real btcd node for tests (DESIGN section 10): it
// builds btcd from the tools module once per test binary, caches the
// binary across runs, starts it on simnet on loopback ports with a
// temporary data folder, and stops it when the test ends. Helpers mine
// blocks, hold deterministic test keys, and build, sign and submit real
// transactions (legacy, segwit v0 and taproot inputs).
//
// A Node is safe for concurrent use by the goroutines of one test.
package btcdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/tooltest"
)

// EnvBinary names an environment variable that may point to a btcd binary
// to use instead of building one.
const EnvBinary = "COINTRAIL_TEST_BTCD"

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a btcd binary built from the version the
// tools module pins (or $COINTRAIL_TEST_BTCD). The first call in a test
// binary builds it with `go build` in <repo>/tools unless the cache already
// holds it: the binary is kept in os.UserCacheDir()/cointrail-test as
// btcd-<hash of tools/go.sum> (package tooltest), so reruns do not rebuild
// and a change of the pinned version does. When btcd cannot be built the
// test is skipped, or fails under CI=true.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	build.once.Do(func() {
		build.path, build.err = tooltest.Build("btcd", "github.com/btcsuite/btcd", "CGO_ENABLED=0", "GOFLAGS=")
	})
	if build.err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("btcdtest: %v", build.err)
		}
		tb.Skipf("btcdtest: cannot build btcd (set %s to a btcd binary, or fix the build): %v", EnvBinary, build.err)
	}
	return build.path
}

// Node is a running btcd on simnet.
type Node struct {
	// URL is the JSON-RPC endpoint (http, loopback); User and Password
	// its credentials.
	URL, User, Password string
	// Params are simnet's parameters.
	Params *chaincfg.Params
	// Miner is the key whose P2PKH address (--miningaddr) every mined
	// block's coinbase pays.
	Miner *Key
	// Dir is the node's temporary folder (data, logs, output).
	Dir string
	// P2P is the peer-to-peer address of a node started with
	// StartListening; "" otherwise.
	P2P string

	client *http.Client
	id     atomic.Uint64
}

// Start builds (once) and starts btcd on simnet with --txindex and
// --addrindex, waits until it answers RPC, and stops it when the test and
// its subtests end. It skips in -short mode.
func Start(tb testing.TB) *Node {
	tb.Helper()
	return start(tb, false)
}

// StartListening is Start for a node that also listens for peers on
// loopback, so that tests can connect nodes that mined apart and watch one
// reorganise onto the other's chain (see Connect).
func StartListening(tb testing.TB) *Node {
	tb.Helper()
	return start(tb, true)
}

// Connect makes n connect to peer as a permanent peer; the one with the
// shorter chain reorganises onto the other's.
func (n *Node) Connect(tb testing.TB, peer *Node) {
	tb.Helper()
	if peer.P2P == "" {
		tb.Fatalf("btcdtest: the peer does not listen (start it with StartListening)")
	}
	n.Call(tb, nil, "addnode", peer.P2P, "add")
}

func start(tb testing.TB, listen bool) *Node {
	tb.Helper()
	if testing.Short() {
		tb.Skip("btcdtest: a real btcd node is not started in -short mode")
	}
	bin := Binary(tb)
	dir := tb.TempDir()
	n := &Node{
		User:     "cointrail",
		Password: randomHex(16),
		Params:   &chaincfg.SimNetParams,
		Miner:    NewKey(tb, &chaincfg.SimNetParams, "btcdtest miner"),
		Dir:      dir,
		client:   &http.Client{Timeout: 60 * time.Second},
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("btcdtest: %v", err)
		}
		if listen {
			p2p, err := freePort()
			if err != nil {
				tb.Fatalf("btcdtest: %v", err)
			}
			n.P2P = net.JoinHostPort("127.0.0.1", strconv.Itoa(p2p))
		}
		if err := n.start(tb, bin, port, attempt); err != nil {
			lastErr = err
			continue
		}
		return n
	}
	tb.Fatalf("btcdtest: btcd did not start: %v", lastErr)
	return nil
}

// start runs btcd on port and waits for its RPC; on failure it stops the
// process and returns why, with the tail of its output.
func (n *Node) start(tb testing.TB, bin string, port, attempt int) error {
	tb.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	n.URL = "http://" + addr
	run := filepath.Join(n.Dir, fmt.Sprintf("run%d", attempt))
	if err := os.MkdirAll(run, 0o700); err != nil {
		return err
	}
	outPath := filepath.Join(run, "output.log")
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	args := []string{
		"--simnet",
		"--datadir=" + filepath.Join(run, "data"),
		"--logdir=" + filepath.Join(run, "logs"),
		"--rpclisten=" + addr,
		"--rpcuser=" + n.User,
		"--rpcpass=" + n.Password,
		"--notls",
		"--txindex",
		"--addrindex",
		"--miningaddr=" + n.Miner.P2PKH.EncodeAddress(),
	}
	if n.P2P != "" {
		args = append(args, "--listen="+n.P2P, "--nodnsseed", "--nobanning")
	} else {
		args = append(args, "--nolisten")
	}
	cmd := exec.Command(bin, args...)
	// btcd creates its home folder (~/.btcd) even when told where its data
	// goes: keep it inside the test's folder.
	cmd.Env = append(os.Environ(), "HOME="+run)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		out.Close()
		close(exited)
	}()
	stop := func() {
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var count int64
		err := n.call(context.Background(), &count, "getblockcount")
		if err == nil {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("btcd exited (%v) before answering RPC:\n%s", waitErr, tail(outPath))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("btcd did not answer RPC at %s within 60s (%v):\n%s", n.URL, err, tail(outPath))
		}
	}
	tb.Cleanup(stop)
	return nil
}

// tail returns the last lines of a file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RPCError is an error btcd answered a call with.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("btcd error %d: %s", e.Code, e.Message) }

// call is the harness's own minimal JSON-RPC client, independent of the
// code under test.
func (n *Node) call(ctx context.Context, out any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": n.id.Add(1), "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(n.User, n.Password)
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: HTTP %d: %q", method, resp.StatusCode, b)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: %w", method, r.Error)
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.Result))
	dec.UseNumber()
	return dec.Decode(out)
}

// Call calls method and decodes its result into out (nil to discard it;
// numbers decode as json.Number into interfaces). It fails the test on an
// error; use [Node.TryCall] to see the error.
func (n *Node) Call(tb testing.TB, out any, method string, params ...any) {
	tb.Helper()
	if err := n.call(context.Background(), out, method, params...); err != nil {
		tb.Fatalf("btcdtest: %v", err)
	}
}

// TryCall is [Node.Call] returning the error (an *[RPCError] when btcd
// answered with one).
func (n *Node) TryCall(out any, method string, params ...any) error {
	return n.call(context.Background(), out, method, params...)
}

// Generate mines count blocks (the generate RPC) and returns their hashes.
func (n *Node) Generate(tb testing.TB, count int) []string {
	tb.Helper()
	var hashes []string
	n.Call(tb, &hashes, "generate", count)
	if len(hashes) != count {
		tb.Fatalf("btcdtest: generate %d returned %d hashes", count, len(hashes))
	}
	return hashes
}

// Height returns the height of the node's best block.
func (n *Node) Height(tb testing.TB) int64 {
	tb.Helper()
	var h int64
	n.Call(tb, &h, "getblockcount")
	return h
}

// Block returns the block with hash, as btcd serializes it.
func (n *Node) Block(tb testing.TB, hash string) *wire.MsgBlock {
	tb.Helper()
	var s string
	n.Call(tb, &s, "getblock", hash, 0)
	raw, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("btcdtest: getblock %s: %v", hash, err)
	}
	var b wire.MsgBlock
	if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
		tb.Fatalf("btcdtest: getblock %s: %v", hash, err)
	}
	return &b
}

// CoinbaseCoin returns the output of the coinbase of the block with hash
// that pays the miner, as a [Coin] the miner's key can spend (after
// simnet's coinbase maturity of 100 blocks).
func (n *Node) CoinbaseCoin(tb testing.TB, hash string) Coin {
	tb.Helper()
	b := n.Block(tb, hash)
	cb := b.Transactions[0]
	want := n.Miner.Script(tb, n.Miner.P2PKH)
	for i, out := range cb.TxOut {
		if bytes.Equal(out.PkScript, want) {
			return Coin{OutPoint: wire.OutPoint{Hash: cb.TxHash(), Index: uint32(i)}, Value: out.Value, PkScript: out.PkScript, Key: n.Miner}
		}
	}
	tb.Fatalf("btcdtest: the coinbase of block %s does not pay the miner", hash)
	return Coin{}
}

// Send submits tx (sendrawtransaction) and returns its txid.
func (n *Node) Send(tb testing.TB, tx *wire.MsgTx) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		tb.Fatalf("btcdtest: serialize tx: %v", err)
	}
	var txid string
	n.Call(tb, &txid, "sendrawtransaction", hex.EncodeToString(buf.Bytes()))
	if want := tx.TxHash().String(); txid != want {
		tb.Fatalf("btcdtest: sendrawtransaction returned %s, want %s", txid, want)
	}
	return txid
}

// Submit gives the node a block it did not mine (submitblock), as a peer
// would relay it.
func (n *Node) Submit(tb testing.TB, b *wire.MsgBlock) {
	tb.Helper()
	var buf bytes.Buffer
	if err := b.Serialize(&buf); err != nil {
		tb.Fatalf("btcdtest: serialize block: %v", err)
	}
	var res *string
	n.Call(tb, &res, "submitblock", hex.EncodeToString(buf.Bytes()))
	if res != nil {
		tb.Fatalf("btcdtest: submitblock %s: %s", b.BlockHash(), *res)
	}
}

// BestHash returns the hash of the node's best block.
func (n *Node) BestHash(tb testing.TB) string {
	tb.Helper()
	var h string
	n.Call(tb, &h, "getbestblockhash")
	return h
}

// Key is a test key pair with its addresses on a network.
type Key struct {
	Name string
	Priv *btcec.PrivateKey
	Pub  *btcec.PublicKey
	// P2PKH, P2WPKH and P2TR (key path only, BIP 86 tweak) addresses of
	// the compressed key.
	P2PKH, P2WPKH, P2TR btcutil.Address
}

// NewKey returns the key derived from name (the SHA-256 of name is the
// private key), so that a test's keys and addresses are the same on every
// run.
func NewKey(tb testing.TB, params *chaincfg.Params, name string) *Key {
	tb.Helper()
	seed := sha256.Sum256([]byte(name))
	priv, pub := btcec.PrivKeyFromBytes(seed[:])
	k := &Key{Name: name, Priv: priv, Pub: pub}
	var err error
	hash := btcutil.Hash160(pub.SerializeCompressed())
	if k.P2PKH, err = btcutil.NewAddressPubKeyHash(hash, params); err != nil {
		tb.Fatal(err)
	}
	if k.P2WPKH, err = btcutil.NewAddressWitnessPubKeyHash(hash, params); err != nil {
		tb.Fatal(err)
	}
	out := txscript.ComputeTaprootKeyNoScript(pub)
	if k.P2TR, err = btcutil.NewAddressTaproot(schnorr.SerializePubKey(out), params); err != nil {
		tb.Fatal(err)
	}
	return k
}

// Script returns the output script paying addr.
func (k *Key) Script(tb testing.TB, addr btcutil.Address) []byte {
	tb.Helper()
	s, err := txscript.PayToAddrScript(addr)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// P2PKScript returns a pay-to-pubkey script of the compressed key.
func (k *Key) P2PKScript(tb testing.TB) []byte {
	tb.Helper()
	s, err := txscript.NewScriptBuilder().AddData(k.Pub.SerializeCompressed()).AddOp(txscript.OP_CHECKSIG).Script()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Coin is an output a test key can spend.
type Coin struct {
	OutPoint wire.OutPoint
	Value    int64
	PkScript []byte
	Key      *Key
}

// Output returns coin index of tx as a Coin spendable by key.
func Output(tx *wire.MsgTx, index uint32, key *Key) Coin {
	out := tx.TxOut[index]
	return Coin{OutPoint: wire.OutPoint{Hash: tx.TxHash(), Index: index}, Value: out.Value, PkScript: out.PkScript, Key: key}
}

// Sign builds a version 2 transaction spending ins to outs and signs every
// input by the kind of script it spends: P2PKH (signature script), P2PK,
// P2WPKH (witness, BIP 143) and P2TR (key-path witness, BIP 341), with one
// sighash cache for the transaction. It checks each input with btcd's
// script engine under the standard verification flags.
func Sign(tb testing.TB, ins []Coin, outs []*wire.TxOut) *wire.MsgTx {
	tb.Helper()
	tx := wire.NewMsgTx(2)
	prev := make(map[wire.OutPoint]*wire.TxOut, len(ins))
	for _, c := range ins {
		tx.AddTxIn(wire.NewTxIn(&c.OutPoint, nil, nil))
		prev[c.OutPoint] = wire.NewTxOut(c.Value, c.PkScript)
	}
	for _, o := range outs {
		tx.AddTxOut(o)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(prev)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, c := range ins {
		var err error
		switch class := txscript.GetScriptClass(c.PkScript); class {
		case txscript.PubKeyHashTy:
			tx.TxIn[i].SignatureScript, err = txscript.SignatureScript(tx, i, c.PkScript, txscript.SigHashAll, c.Key.Priv, true)
		case txscript.PubKeyTy:
			var sig []byte
			sig, err = txscript.RawTxInSignature(tx, i, c.PkScript, txscript.SigHashAll, c.Key.Priv)
			if err == nil {
				tx.TxIn[i].SignatureScript, err = txscript.NewScriptBuilder().AddData(sig).Script()
			}
		case txscript.WitnessV0PubKeyHashTy:
			tx.TxIn[i].Witness, err = txscript.WitnessSignature(tx, hashes, i, c.Value, c.PkScript, txscript.SigHashAll, c.Key.Priv, true)
		case txscript.WitnessV1TaprootTy:
			tx.TxIn[i].Witness, err = txscript.TaprootWitnessSignature(tx, hashes, i, c.Value, c.PkScript, txscript.SigHashDefault, c.Key.Priv)
		default:
			err = fmt.Errorf("cannot sign a %v output", class)
		}
		if err != nil {
			tb.Fatalf("btcdtest: sign input %d: %v", i, err)
		}
	}
	for i, c := range ins {
		vm, err := txscript.NewEngine(c.PkScript, tx, i, txscript.StandardVerifyFlags, nil, hashes, c.Value, fetcher)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			tb.Fatalf("btcdtest: input %d does not verify: %v", i, err)
		}
	}
	return tx
}

// Mempool returns the txids of the transactions in the node's mempool.
func (n *Node) Mempool(tb testing.TB) []string {
	tb.Helper()
	var ids []string
	n.Call(tb, &ids, "getrawmempool")
	return ids
}

// IsRPCError reports whether err is an error btcd answered with code.
func IsRPCError(err error, code int) bool {
	var re *RPCError
	return errors.As(err, &re) && re.Code == code
}

// ParseHash parses a displayed (byte-reversed) hash.
func ParseHash(tb testing.TB, s string) chainhash.Hash {
	tb.Helper()
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		tb.Fatal(err)
	}
	return *h
}

// Balance computes an address's balance from btcd's address index
// (searchrawtransactions with the spent outputs' details): what its
// outputs received minus what its inputs spent. Bare multisig outputs,
// which btcd files under each key, are not counted.
func (n *Node) Balance(tb testing.TB, addr string) int64 {
	tb.Helper()
	type result struct {
		Txid string `json:"txid"`
		Vin  []struct {
			PrevOut *struct {
				Addresses []string    `json:"addresses"`
				Value     json.Number `json:"value"`
			} `json:"prevOut"`
		} `json:"vin"`
		Vout []struct {
			Value        json.Number `json:"value"`
			ScriptPubKey struct {
				Type      string   `json:"type"`
				Addresses []string `json:"addresses"`
			} `json:"scriptPubKey"`
		} `json:"vout"`
	}
	var total int64
	seen := map[string]bool{}
	for skip := 0; ; skip += 100 {
		var page []result
		err := n.TryCall(&page, "searchrawtransactions", addr, 1, skip, 100, 1)
		if IsRPCError(err, -5) { // no (more) transactions
			break
		}
		if err != nil {
			tb.Fatalf("btcdtest: %v", err)
		}
		for _, r := range page {
			if seen[r.Txid] {
				continue
			}
			seen[r.Txid] = true
			for _, in := range r.Vin {
				if in.PrevOut != nil && len(in.PrevOut.Addresses) == 1 && in.PrevOut.Addresses[0] == addr {
					total -= Satoshi(tb, in.PrevOut.Value)
				}
			}
			for _, out := range r.Vout {
				if out.ScriptPubKey.Type != "multisig" && len(out.ScriptPubKey.Addresses) == 1 && out.ScriptPubKey.Addresses[0] == addr {
					total += Satoshi(tb, out.Value)
				}
			}
		}
		if len(page) < 100 {
			break
		}
	}
	return total
}

// Satoshi converts a BTC amount as a node writes it in JSON (a decimal
// such as 50.0 or 12.34567891) to satoshi, exactly: the decimal is read as
// a rational number, never as a float.
func Satoshi(tb testing.TB, n json.Number) int64 {
	tb.Helper()
	r, ok := new(big.Rat).SetString(n.String())
	if !ok {
		tb.Fatalf("btcdtest: amount %q is not a decimal", n)
	}
	r.Mul(r, big.NewRat(100_000_000, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		tb.Fatalf("btcdtest: amount %q is not a whole number of satoshi", n)
	}
	return r.Num().Int64()
}

var (
	testdataOnce sync.Once
	testdataDir  string
	testdataErr  error
)

// Testdata returns the path of a file of the btcd module's own blockchain
// test data (blockchain/testdata in the module cache; blk_0_to_14131.dat
// holds mainnet blocks 0 to 14131). Without the module it skips the test,
// except under CI=true, where that is a failure.
func Testdata(tb testing.TB, name string) string {
	tb.Helper()
	testdataOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
		if err != nil {
			testdataErr = fmt.Errorf("go list -m github.com/btcsuite/btcd: %w", err)
			return
		}
		testdataDir = filepath.Join(strings.TrimSpace(string(out)), "blockchain", "testdata")
	})
	err := testdataErr
	p := filepath.Join(testdataDir, name)
	if err == nil {
		_, err = os.Stat(p)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("btcd module test data: %v (run go mod download)", err)
		}
		tb.Skipf("btcd module test data: %v (run go mod download github.com/btcsuite/btcd)", err)
	}
	return p
}
