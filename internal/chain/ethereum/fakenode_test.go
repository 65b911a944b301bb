package ethereum

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cointrail/cointrail/internal/sharedtest"
)

// fakeNode is a JSON-RPC server that answers from recorded results, keyed
// by method and parameters, as a node would: null for a block or receipt
// it does not have, -32601 for a method it does not offer.
type fakeNode struct {
	*httptest.Server

	mu      sync.Mutex
	results map[string]json.RawMessage // key: method + canonical params JSON
	missing map[string]bool            // methods answered with -32601
	calls   map[string]int             // requests per method
	// intercept, when set, sees each request body first and reports
	// whether it answered the request itself.
	intercept func(w http.ResponseWriter, r *http.Request, body []byte) bool
}

// setIntercept sets the function that sees requests first.
func (f *fakeNode) setIntercept(fn func(w http.ResponseWriter, r *http.Request, body []byte) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intercept = fn
}

func newFakeNode(t *testing.T) *fakeNode {
	t.Helper()
	f := &fakeNode{
		results: map[string]json.RawMessage{},
		missing: map[string]bool{},
		calls:   map[string]int{},
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// set records the result of method with params.
func (f *fakeNode) set(result json.RawMessage, method string, params ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[key(method, params)] = result
}

// offer makes method known (true) or unknown (false) to the node.
func (f *fakeNode) offer(method string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.missing[method] = !ok
}

func (f *fakeNode) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func key(method string, params any) string {
	// Round-trip through any so that equal parameters give equal keys.
	data, _ := json.Marshal(params)
	var v any
	json.Unmarshal(data, &v)
	data, _ = json.Marshal(v)
	return method + string(data)
}

type fakeRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func (f *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	intercept := f.intercept
	f.mu.Unlock()
	if intercept != nil && intercept(w, r, body) {
		return
	}
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		var reqs []fakeRequest
		if err := json.Unmarshal(body, &reqs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := make([]map[string]any, len(reqs))
		for i, req := range reqs {
			out[i] = f.answer(req)
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	var req fakeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	json.NewEncoder(w).Encode(f.answer(req))
}

func (f *fakeNode) answer(req fakeRequest) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[req.Method]++
	out := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if f.missing[req.Method] {
		out["error"] = map[string]any{"code": -32601, "message": "the method " + req.Method + " does not exist/is not available"}
		return out
	}
	var params any
	json.Unmarshal(req.Params, &params)
	if res, ok := f.results[key(req.Method, params)]; ok {
		out["result"] = res
		return out
	}
	if strings.HasPrefix(req.Method, "debug_") {
		out["error"] = map[string]any{"code": -32000, "message": "block not found"}
		return out
	}
	out["result"] = nil
	return out
}

// loadShared serves every recorded mainnet response of the shared data
// set: the file name says method and parameters
// (eth_getBlockByNumber_0x76250_true.json is eth_getBlockByNumber
// ["0x76250", true]). The data set has no eth_getBlockReceipts results,
// so the node does not offer that method: receipts come one by one.
func (f *fakeNode) loadShared(t *testing.T) {
	t.Helper()
	f.offer("eth_getBlockReceipts", false)
	for _, path := range sharedtest.Glob(t, "ethereum/rpc/*.json") {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		parts := strings.Split(name, "_")
		method := parts[0] + "_" + parts[1]
		args := parts[2:]
		var params []any
		switch method {
		case "eth_getBlockByNumber":
			params = []any{args[0], args[1] == "true"}
		case "debug_traceBlockByNumber":
			params = []any{args[0], map[string]any{"tracer": "callTracer"}}
		default:
			params = []any{args[0]}
		}
		f.set(sharedResult(t, path), method, params...)
	}
}

// sharedResult returns the result member of a recorded response.
func sharedResult(t testing.TB, path string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.Result
}

// rpcFile returns the result of a shared RPC response file.
func rpcFile(t testing.TB, name string) json.RawMessage {
	t.Helper()
	return sharedResult(t, sharedtest.Path(t, "ethereum", "rpc", name))
}
