package ethereum

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
)

// serve returns the URL of a server answering every request with h.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// echoID answers a single request with body, where body's "ID" is
// replaced by the request's id.
func echoID(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		data, _ := io.ReadAll(r.Body)
		json.Unmarshal(data, &req)
		io.WriteString(w, strings.ReplaceAll(body, `"ID"`, string(req.ID)))
	}
}

func TestTipAndErrors(t *testing.T) {
	ok := serve(t, echoID(`{"jsonrpc":"2.0","id":"ID","result":"0x1b4"}`))
	src, err := NewRPC(ok, "ethereum", RPCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tip, err := src.Tip(context.Background()); err != nil || tip != 436 {
		t.Fatalf("Tip = %d, %v; want 436", tip, err)
	}

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	tests := []struct {
		name  string
		h     http.HandlerFunc
		url   string // instead of a server
		opts  RPCOptions
		check func(t *testing.T, err error)
	}{{
		name: "rpc error",
		h:    echoID(`{"jsonrpc":"2.0","id":"ID","error":{"code":-32000,"message":"boom","data":"0xdead"}}`),
		check: func(t *testing.T, err error) {
			var re *RPCError
			if !errors.As(err, &re) || re.Code != -32000 || re.Message != "boom" || re.Method != "eth_blockNumber" || string(re.Data) != `"0xdead"` {
				t.Errorf("got %#v", err)
			}
			if re != nil && re.MethodNotFound() {
				t.Error("-32000 is not method-not-found")
			}
			if err.Error() != "ethereum: eth_blockNumber: node error -32000: boom" {
				t.Errorf("message %q", err)
			}
		},
	}, {
		name: "http error",
		h:    func(w http.ResponseWriter, r *http.Request) { http.Error(w, "upstream down", http.StatusBadGateway) },
		check: func(t *testing.T, err error) {
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != 502 || !strings.Contains(he.Body, "upstream down") {
				t.Errorf("got %#v", err)
			}
		},
	}, {
		name: "rpc error in an http error",
		h: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited"}}`)
		},
		check: func(t *testing.T, err error) {
			var re *RPCError
			if !errors.As(err, &re) || re.Code != -32005 {
				t.Errorf("got %#v", err)
			}
		},
	}, {
		name:  "garbage",
		h:     func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hello</html>") },
		check: isErr(ErrMalformed, "<html>"),
	}, {
		name: "wrong id",
		h: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"jsonrpc":"2.0","id":999999,"result":"0x1"}`)
		},
		check: isErr(ErrMalformed, "response id 999999"),
	}, {
		name:  "no result",
		h:     echoID(`{"jsonrpc":"2.0","id":"ID"}`),
		check: isErr(ErrMalformed, "neither result nor error"),
	}, {
		name:  "bad quantity",
		h:     echoID(`{"jsonrpc":"2.0","id":"ID","result":"0xfffffffffffffffff"}`),
		check: isErr(ErrMalformed, "over 64 bits"),
	}, {
		name:  "too large",
		h:     echoID(`{"jsonrpc":"2.0","id":"ID","result":"0x1"}`),
		opts:  RPCOptions{MaxResponseBytes: 10},
		check: isErr(nil, "response over 10 bytes"),
	}, {
		name: "timeout",
		h:    hang,
		opts: RPCOptions{Timeout: 50 * time.Millisecond},
		check: func(t *testing.T, err error) {
			if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v", err)
			}
		},
	}, {
		name: "node gone",
		// Credentials and an API key in the path must not leak into errors.
		url: strings.Replace(gone.URL, "http://", "http://user:secret@", 1) + "/v3/APIKEY",
		check: func(t *testing.T, err error) {
			if !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "APIKEY") {
				t.Errorf("got %v", err)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = serve(t, tt.h)
			}
			src, err := NewRPC(u, "ethereum", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Tip(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
		})
	}

	// A caller's cancelled context is the caller's error, not the node's.
	src, _ = NewRPC(serve(t, hang), "ethereum", RPCOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := src.Tip(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Errorf("cancelled: %v", err)
	}
}

// hang answers when the client has gone, or after 10s. It reads the body
// first: only then does the server notice a client that goes away.
func hang(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func isErr(target error, says string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if target != nil && !errors.Is(err, target) || !strings.Contains(err.Error(), says) {
			t.Errorf("got %v, want %v saying %q", err, target, says)
		}
	}
}

func TestNewRPCValidates(t *testing.T) {
	_, err := NewRPC("ftp://x", "tron", RPCOptions{Timeout: -1, Rules: &Rules{Rewards: []RewardEra{{From: -1}}}})
	for _, want := range []string{"http(s)", "tron", "timeout", "negative height"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

// devBlock serves a post-London block of two transactions at height 7.
func devBlock(t *testing.T, node *fakeNode) (bh string) {
	bh = h32("b")
	node.set(mustJSON(t, obj{
		"number": "0x7", "hash": bh, "parentHash": h32("a"), "timestamp": "0x1", "miner": a20("f"), "difficulty": "0x0",
		"baseFeePerGas": "0x7", "uncles": []string{}, "withdrawals": []obj{},
		"transactions": []obj{
			{"hash": h32("1"), "from": a20("a"), "to": a20("b"), "nonce": "0x0", "value": "0x5", "gas": q(21000), "gasPrice": "0x9"},
			{"hash": h32("2"), "from": a20("a"), "to": a20("c"), "nonce": "0x1", "value": "0x6", "gas": q(21000), "gasPrice": "0x9"},
		},
	}), "eth_getBlockByNumber", "0x7", true)
	r1 := obj{"transactionHash": h32("1"), "blockHash": bh, "status": "0x1", "gasUsed": q(21000), "effectiveGasPrice": "0x9", "logs": []obj{}}
	r2 := obj{"transactionHash": h32("2"), "blockHash": bh, "status": "0x1", "gasUsed": q(21000), "effectiveGasPrice": "0x9", "logs": []obj{}}
	node.set(mustJSON(t, r1), "eth_getTransactionReceipt", h32("1"))
	node.set(mustJSON(t, r2), "eth_getTransactionReceipt", h32("2"))
	node.set(mustJSON(t, []obj{r1, r2}), "eth_getBlockReceipts", bh)
	return bh
}

func TestBlockSource(t *testing.T) {
	ctx := context.Background()

	t.Run("not found", func(t *testing.T) {
		node := newFakeNode(t)
		src, _ := NewRPC(node.URL, "ethereum", RPCOptions{})
		for _, h := range []int64{-1, 1000} {
			if _, err := src.BlockAt(ctx, h); !errors.Is(err, chain.ErrNotFound) {
				t.Errorf("height %d: %v", h, err)
			}
		}
	})

	t.Run("wrong block", func(t *testing.T) {
		node := newFakeNode(t)
		devBlock(t, node)
		node.set(node.results[key("eth_getBlockByNumber", []any{"0x7", true})], "eth_getBlockByNumber", "0x8", true)
		src, _ := NewRPC(node.URL, "ethereum", RPCOptions{})
		if _, err := src.BlockAt(ctx, 8); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "sent block 7") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("block receipts and trace", func(t *testing.T) {
		node := newFakeNode(t)
		bh := devBlock(t, node)
		node.set(mustJSON(t, []obj{
			{"txHash": h32("1"), "result": obj{"type": "CALL", "from": a20("a"), "to": a20("b"), "value": "0x5"}},
			{"txHash": h32("2"), "result": obj{"type": "CALL", "from": a20("a"), "to": a20("c"), "value": "0x6"}},
		}), "debug_traceBlockByNumber", "0x7", obj{"tracer": "callTracer"})
		src, _ := NewRPC(node.URL, "ethereum", RPCOptions{})
		b, err := src.Block(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !b.Traced || src.Tracing() != Supported || src.BlockReceipts() != Supported || node.count("eth_getTransactionReceipt") != 0 {
			t.Errorf("traced %v (%v), tracing %v, block receipts %v, %d single receipts",
				b.Traced, b.TraceError, src.Tracing(), src.BlockReceipts(), node.count("eth_getTransactionReceipt"))
		}
		checkTxs(t, b.Txs, []wantTx{{
			hash: h32("1"),
			transfers: []string{
				"native " + a20("a") + " -> " + a20("b") + " 5 " + eth,
				"burn " + a20("a") + " -> burn 147000 " + eth,
				"fee " + a20("a") + " -> " + a20("f") + " 42000 " + eth,
			},
		}, {
			hash: h32("2"),
			transfers: []string{
				"native " + a20("a") + " -> " + a20("c") + " 6 " + eth,
				"burn " + a20("a") + " -> burn 147000 " + eth,
				"fee " + a20("a") + " -> " + a20("f") + " 42000 " + eth,
			},
		}})

		// The chain reorganises: the node no longer knows the block hash.
		node.set(json.RawMessage("null"), "eth_getBlockReceipts", bh)
		if _, err := src.Block(ctx, 7); !errors.Is(err, ErrInconsistent) {
			t.Errorf("reorganised: %v", err)
		}
	})

	t.Run("receipts one by one in batches", func(t *testing.T) {
		node := newFakeNode(t)
		devBlock(t, node)
		node.offer("eth_getBlockReceipts", false)
		var batches atomic.Int32
		node.setIntercept(func(w http.ResponseWriter, r *http.Request, data []byte) bool {
			if bytes.HasPrefix(data, []byte("[")) {
				batches.Add(1)
			}
			return false
		})
		src, _ := NewRPC(node.URL, "ethereum", RPCOptions{BatchSize: 1})
		b, err := src.Block(ctx, 7)
		if err != nil || len(b.Txs) != 2 {
			t.Fatalf("%v, %+v", err, b)
		}
		if batches.Load() != 2 || node.count("eth_getTransactionReceipt") != 2 {
			t.Errorf("%d batches, %d receipts; want 2, 2", batches.Load(), node.count("eth_getTransactionReceipt"))
		}
		if src.BlockReceipts() != Unsupported {
			t.Errorf("block receipts %v", src.BlockReceipts())
		}
	})

	t.Run("trace error for one block", func(t *testing.T) {
		node := newFakeNode(t)
		devBlock(t, node) // the fake answers debug_* for unknown blocks with -32000
		var logs bytes.Buffer
		src, _ := NewRPC(node.URL, "ethereum", RPCOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		for range 2 {
			b, err := src.Block(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			var re *RPCError
			if b.Traced || !errors.As(b.TraceError, &re) || re.Code != -32000 {
				t.Errorf("traced %v: %v", b.Traced, b.TraceError)
			}
		}
		// Not remembered as a node without the debug API: asked each time.
		if node.count("debug_traceBlockByNumber") != 2 || src.Tracing() != SupportUnknown {
			t.Errorf("%d trace requests, tracing %v", node.count("debug_traceBlockByNumber"), src.Tracing())
		}
		if !strings.Contains(logs.String(), "block not traced") || !strings.Contains(logs.String(), "height=7") {
			t.Errorf("log: %s", logs.String())
		}
	})

	t.Run("trace timeout", func(t *testing.T) {
		node := newFakeNode(t)
		devBlock(t, node)
		node.setIntercept(func(w http.ResponseWriter, r *http.Request, data []byte) bool {
			if bytes.Contains(data, []byte("debug_traceBlockByNumber")) {
				hang(w, r)
				return true
			}
			return false
		})
		src, _ := NewRPC(node.URL, "ethereum", RPCOptions{Timeout: 200 * time.Millisecond})
		b, err := src.Block(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if b.Traced || !errors.Is(b.TraceError, context.DeadlineExceeded) || len(b.Txs) != 2 {
			t.Errorf("traced %v: %v", b.Traced, b.TraceError)
		}
	})

	t.Run("batch refused", func(t *testing.T) {
		node := newFakeNode(t)
		devBlock(t, node)
		node.offer("eth_getBlockReceipts", false)
		node.setIntercept(func(w http.ResponseWriter, r *http.Request, data []byte) bool {
			if bytes.HasPrefix(data, []byte("[")) {
				io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}`)
				return true
			}
			return false
		})
		src, _ := NewRPC(node.URL, "ethereum", RPCOptions{})
		var re *RPCError
		if _, err := src.Block(ctx, 7); !errors.As(err, &re) || re.Message != "batch too large" {
			t.Errorf("got %v", err)
		}
	})
}
