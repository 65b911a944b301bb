// Package gethtest runs a real geth node in developer mode for tests
// (DESIGN section 10): a one-validator proof-of-stake chain whose blocks
// are made on demand, with a prefunded developer account that the node
// signs for through eth_sendTransaction.
//
// geth is the version pinned in the repository's tools module
// (tools/go.mod). [Binary] builds it once per test binary and caches it
// under os.UserCacheDir()/cointrail-test/geth-<first 16 hex digits of the
// sha256 of tools/go.sum>, so later runs start at once; a change to the
// pinned version changes go.sum and so the cache entry.
package gethtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/tooltest"
)

// Node is a running geth dev node. Its methods are safe for concurrent
// use. It stops when the test that started it ends.
type Node struct {
	// URL is the node's JSON-RPC endpoint: http://127.0.0.1:<port>.
	URL string
	// Dev is the prefunded developer account, lower-case 0x hex. The node
	// holds its key: eth_sendTransaction from it needs no signature.
	Dev string
	// ChainID is the chain id transactions are signed for (1337).
	ChainID uint64
	// DataDir holds the chain and the node's log, geth.log.
	DataDir string

	id atomic.Uint64
}

// APIs are the JSON-RPC namespaces the node serves over HTTP. dev is
// geth's developer-mode API (dev_addWithdrawal, dev_setFeeRecipient).
const APIs = "eth,net,web3,debug,dev"

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of the geth binary, building and caching it on
// first use in the test binary. It fails tb when geth cannot be built.
func Binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() { build.path, build.err = tooltest.Build("geth", "github.com/ethereum/go-ethereum/cmd/geth") })
	if build.err != nil {
		tb.Fatalf("gethtest: %v", build.err)
	}
	return build.path
}

// Start starts a geth dev node for the test and returns once it answers
// JSON-RPC. The node makes a block whenever a transaction is pending
// (--dev.period 0) and is stopped, its data removed, when the test ends.
// On failure the test log gets the end of the node's log.
func Start(tb testing.TB) *Node {
	tb.Helper()
	bin := Binary(tb)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		n, err := start(tb, bin)
		if err == nil {
			return n
		}
		// A port taken between choosing it and geth binding it is the
		// usual cause; try other ports.
		lastErr = err
	}
	tb.Fatalf("gethtest: start geth: %v", lastErr)
	return nil
}

func start(tb testing.TB, bin string) (*Node, error) {
	tb.Helper()
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	authPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := tb.TempDir()
	logPath := filepath.Join(dir, "geth.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--dev", "--dev.period", "0",
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(httpPort),
		"--http.api", APIs,
		"--authrpc.port", strconv.Itoa(authPort),
		"--datadir", filepath.Join(dir, "data"),
		"--nodiscover", "--maxpeers", "0", "--ipcdisable",
		"--verbosity", "3",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	stop := func() {
		select {
		case <-exited:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	n := &Node{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), ChainID: 1337, DataDir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		var accounts []string
		err := n.Call(ctx, "eth_accounts", &accounts)
		if err == nil && len(accounts) > 0 {
			n.Dev = strings.ToLower(accounts[0])
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			return nil, fmt.Errorf("geth exited (%v); its log ends:\n%s", werr, tail(logPath))
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("geth did not answer on %s in 60s (last: %v); its log ends:\n%s", n.URL, err, tail(logPath))
		case <-time.After(100 * time.Millisecond):
		}
	}
	tb.Cleanup(func() {
		stop()
		if tb.Failed() {
			tb.Logf("gethtest: geth log ends:\n%s", tail(logPath))
		}
	})
	return n, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a file.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// RPCError is an error object the node returned.
type RPCError struct {
	Method  string
	Code    int
	Message string
	Data    json.RawMessage
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("gethtest: %s: error %d: %s", e.Method, e.Code, e.Message)
}

// Call calls a JSON-RPC method of the node and decodes its result into
// result (which may be nil to discard it).
func (n *Node) Call(ctx context.Context, method string, result any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": n.id.Add(1), "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("gethtest: %s: %w", method, err)
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int             `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("gethtest: %s: HTTP %d: %w", method, resp.StatusCode, err)
	}
	if out.Error != nil {
		return &RPCError{Method: method, Code: out.Error.Code, Message: out.Error.Message, Data: out.Error.Data}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(out.Result, result); err != nil {
		return fmt.Errorf("gethtest: %s: result: %w", method, err)
	}
	return nil
}

// MustCall is [Node.Call] that fails tb on error.
func (n *Node) MustCall(tb testing.TB, method string, result any, params ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Call(ctx, method, result, params...); err != nil {
		tb.Fatal(err)
	}
}

// Receipt is the part of a transaction receipt tests look at.
type Receipt struct {
	TransactionHash string  `json:"transactionHash"`
	BlockNumber     string  `json:"blockNumber"`
	Status          string  `json:"status"`
	ContractAddress *string `json:"contractAddress"`
	GasUsed         string  `json:"gasUsed"`
}

// WaitReceipt waits up to 30s for the receipt of transaction hash, failing
// tb when none comes. A node that has just started answers "transaction
// indexing is in progress" for a while: that is waited out too.
func (n *Node) WaitReceipt(tb testing.TB, hash string) Receipt {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r *Receipt
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := n.Call(ctx, "eth_getTransactionReceipt", &r, hash)
		cancel()
		var re *RPCError
		switch {
		case errors.As(err, &re) && strings.Contains(re.Message, "indexing is in progress"):
		case err != nil:
			tb.Fatal(err)
		case r != nil:
			return *r
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gethtest: no receipt for %s in 30s", hash)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
