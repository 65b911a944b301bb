package ethereum

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
)

// ErrNoDebugAPI reports a node that offers no debug_traceBlockByNumber
// (the debug API is off, or the method unknown): internal transfers are
// then unknown. [RPC] remembers it and stops asking.
var ErrNoDebugAPI = errors.New("ethereum: node offers no debug API: internal transfers unknown")

// ErrTracingOff reports that [RPCOptions.NoTrace] turned tracing off.
var ErrTracingOff = errors.New("ethereum: tracing turned off: internal transfers unknown")

// ErrUnreachable reports a node that could not be asked or did not
// answer: refused or dropped connections, timeouts. The error also wraps
// the cause (so errors.Is(err, context.DeadlineExceeded) holds for a
// timeout).
var ErrUnreachable = errors.New("ethereum: node unreachable")

// RPCError is an error the node returned: a JSON-RPC error object.
type RPCError struct {
	// Method is the JSON-RPC method called.
	Method string
	// Code and Message are the error object's; Data its data, if any.
	Code    int
	Message string
	Data    json.RawMessage
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("ethereum: %s: node error %d: %s", e.Method, e.Code, clip(e.Message))
}

// MethodNotFound reports whether the node does not know the method: code
// -32601, or a message saying "method not found" (some nodes and proxies
// use other codes for it).
func (e *RPCError) MethodNotFound() bool {
	m := strings.ToLower(e.Message)
	return e.Code == -32601 || strings.Contains(m, "method not found") ||
		strings.Contains(m, "does not exist/is not available")
}

// HTTPError reports an HTTP response that is not a JSON-RPC answer: a
// status other than 200 without a JSON-RPC error in its body.
type HTTPError struct {
	Method string
	// StatusCode is the HTTP status; Body the start of the body.
	StatusCode int
	Body       string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("ethereum: %s: HTTP %d %s: %q", e.Method, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// RPCOptions configure an [RPC] source. The zero value is valid.
type RPCOptions struct {
	// Timeout bounds each request to the node; a batch is one request.
	// Default: 30s.
	Timeout time.Duration
	// Client sends the requests. Default: a client of the source's own.
	Client *http.Client
	// Logger receives the source's warnings: a node without the debug
	// API, a block whose trace failed. Default: discard.
	Logger *slog.Logger
	// Rules are the chain's reward rules. Default: [RulesFor] the chain.
	Rules *Rules
	// NoTrace turns call tracing off: blocks are read without internal
	// transfers. Default: false (trace where the node can).
	NoTrace bool
	// BatchSize caps the requests of one JSON-RPC batch (receipts one by
	// one, uncles). Default: 100.
	BatchSize int
	// MaxResponseBytes caps the size of one response. Default: 1 GiB.
	MaxResponseBytes int64
}

// EnsureDefaults fills in the zero fields with their defaults.
func (o *RPCOptions) EnsureDefaults() {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BatchSize == 0 {
		o.BatchSize = 100
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = 1 << 30
	}
}

// Validate reports every problem of the options in one error.
func (o *RPCOptions) Validate() error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", o.Timeout))
	}
	if o.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d is negative", o.BatchSize))
	}
	if o.MaxResponseBytes < 0 {
		errs = append(errs, fmt.Errorf("max response bytes %d is negative", o.MaxResponseBytes))
	}
	if o.Rules != nil {
		if err := o.Rules.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ethereum: options: %w", errors.Join(errs...))
	}
	return nil
}

// Support says whether a node offers an optional method.
type Support int32

// What a source knows of an optional method.
const (
	SupportUnknown Support = iota // not asked yet
	Supported                     // answered
	Unsupported                   // the node does not know it
)

func (s Support) String() string {
	switch s {
	case Supported:
		return "supported"
	case Unsupported:
		return "unsupported"
	}
	return "unknown"
}

// RPC is a [chain.Source] reading an Ethereum-family chain from a node's
// JSON-RPC API over HTTP: eth_blockNumber, eth_getBlockByNumber with full
// transactions, eth_getBlockReceipts (falling back to
// eth_getTransactionReceipt per transaction on nodes without it),
// debug_traceBlockByNumber with the callTracer where the node offers it,
// and eth_getUncleByBlockNumberAndIndex while blocks earn rewards.
//
// It remembers whether the node offers eth_getBlockReceipts and the debug
// API, and logs once when it does not. It is safe for concurrent use and
// holds no resources beyond its HTTP client's idle connections.
type RPC struct {
	url      string
	endpoint string // url without credentials, path or query: safe to log
	chain    string
	rules    Rules
	opts     RPCOptions
	log      *slog.Logger
	id       atomic.Uint64

	mu struct {
		sync.Mutex
		// receipts and debug are what the node offers of
		// eth_getBlockReceipts and debug_traceBlockByNumber.
		receipts, debug Support
	}
}

// evmChains are the chains whose nodes speak Ethereum's JSON-RPC.
var evmChains = map[string]bool{"ethereum": true, "ethereum-classic": true, "arbitrum": true, "bsc": true}

// NewRPC returns a source reading chain chainID (one of "ethereum",
// "ethereum-classic", "arbitrum", "bsc") from the node at url (http or
// https; credentials in the URL are used but never logged or shown in
// errors).
func NewRPC(rawURL, chainID string, opts RPCOptions) (*RPC, error) {
	opts.EnsureDefaults()
	var errs []error
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		errs = append(errs, errors.New("node url does not parse"))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, fmt.Errorf("node url must be http(s)://host..., not %s://%s", u.Scheme, u.Host))
	}
	if !evmChains[chainID] {
		errs = append(errs, fmt.Errorf("chain %q is not an Ethereum-family chain", chainID))
	}
	if err := opts.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ethereum: new rpc source: %w", errors.Join(errs...))
	}
	r := &RPC{url: rawURL, endpoint: u.Scheme + "://" + u.Host, chain: chainID, opts: opts}
	if opts.Rules != nil {
		r.rules = *opts.Rules
	} else {
		r.rules = RulesFor(chainID)
	}
	r.log = opts.Logger.With("chain", chainID, "node", r.endpoint)
	return r, nil
}

// Chain returns the chain id of the blocks.
func (r *RPC) Chain() string { return r.chain }

// String returns the source's chain and node, without credentials.
func (r *RPC) String() string { return r.chain + " via " + r.endpoint }

// Tracing reports what the source knows of the node's debug API.
func (r *RPC) Tracing() Support {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.debug
}

// BlockReceipts reports what the source knows of the node's
// eth_getBlockReceipts.
func (r *RPC) BlockReceipts() Support {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.receipts
}

// Tip returns the height of the node's best block (eth_blockNumber).
func (r *RPC) Tip(ctx context.Context) (int64, error) {
	var s string
	if err := r.call(ctx, "eth_blockNumber", &s); err != nil {
		return 0, err
	}
	var p parser
	h := p.height("result", &s)
	if p.err != nil {
		return 0, fmt.Errorf("ethereum: eth_blockNumber: %w", p.err)
	}
	return h, nil
}

// BlockAt returns the block at height on the node's best chain, as
// [RPC.Block] does, without saying whether its internal transfers are
// known: a block read without them is logged (once for a node without the
// debug API). Callers that need to know use [RPC.Block].
func (r *RPC) BlockAt(ctx context.Context, height int64) (*chain.Block, error) {
	b, err := r.Block(ctx, height)
	if err != nil {
		return nil, err
	}
	return &b.Block, nil
}

// Block returns the block at height on the node's best chain, with
// whether its internal transfers are known. Errors: [chain.ErrNotFound]
// when the node has no block there; [ErrInconsistent] when the chain
// changed while the block was read; [ErrMalformed], *[RPCError],
// *[HTTPError] and [ErrUnreachable] as the node answered. A failing trace
// is not an error: the block comes back with Traced false.
func (r *RPC) Block(ctx context.Context, height int64) (*Block, error) {
	if height < 0 {
		return nil, fmt.Errorf("ethereum: block %d: %w", height, chain.ErrNotFound)
	}
	num := hexInt(height)
	var raw json.RawMessage
	if err := r.call(ctx, "eth_getBlockByNumber", &raw, num, true); err != nil {
		return nil, err
	}
	if isNull(raw) {
		return nil, fmt.Errorf("ethereum: block %d: %w", height, chain.ErrNotFound)
	}
	b, err := decodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("ethereum: eth_getBlockByNumber %d: %w", height, err)
	}
	if b.number != height {
		return nil, fmt.Errorf("ethereum: eth_getBlockByNumber %d: %w", height, malformed("the node sent block %d", b.number))
	}
	rs, err := r.receipts(ctx, b)
	if err != nil {
		return nil, err
	}
	ts, traceErr, err := r.traces(ctx, b)
	if err != nil {
		return nil, err
	}
	var us []uncle
	if r.rules.paysReward(b) != nil && len(b.uncles) > 0 {
		if us, err = r.uncles(ctx, b); err != nil {
			return nil, err
		}
	}
	out, err := assemble(r.chain, r.rules, b, rs, ts, traceErr, us)
	if err != nil {
		return nil, fmt.Errorf("ethereum: %w", err)
	}
	if !out.Traced && !errors.Is(out.TraceError, ErrNoDebugAPI) && !errors.Is(out.TraceError, ErrTracingOff) {
		r.log.WarnContext(ctx, "block not traced: internal transfers unknown", "height", height, "err", out.TraceError)
	}
	return out, nil
}

// receipts reads the receipts of b's transactions, in order.
func (r *RPC) receipts(ctx context.Context, b *block) ([]receipt, error) {
	if len(b.txs) == 0 {
		return nil, nil
	}
	r.mu.Lock()
	support := r.mu.receipts
	r.mu.Unlock()
	if support != Unsupported {
		var raw json.RawMessage
		err := r.call(ctx, "eth_getBlockReceipts", &raw, b.hash)
		var re *RPCError
		switch {
		case errors.As(err, &re) && re.MethodNotFound():
			r.setSupport(&r.mu.receipts, Unsupported)
			r.log.InfoContext(ctx, "node has no eth_getBlockReceipts: reading receipts one by one")
		case err != nil:
			return nil, err
		case isNull(raw):
			return nil, fmt.Errorf("%w: block %d: eth_getBlockReceipts knows no block %s", ErrInconsistent, b.number, b.hash)
		default:
			r.setSupport(&r.mu.receipts, Supported)
			rs, err := decodeReceipts(raw)
			if err != nil {
				return nil, fmt.Errorf("ethereum: eth_getBlockReceipts %d: %w", b.number, err)
			}
			return rs, nil
		}
	}
	params := make([][]any, len(b.txs))
	for i, t := range b.txs {
		params[i] = []any{t.hash}
	}
	raws, err := r.batch(ctx, "eth_getTransactionReceipt", params)
	if err != nil {
		return nil, err
	}
	rs := make([]receipt, len(raws))
	for i, raw := range raws {
		if isNull(raw) {
			return nil, fmt.Errorf("ethereum: block %d: eth_getTransactionReceipt %s: %w (receipt missing: reorganised, or pruned by the node)", b.number, b.txs[i].hash, chain.ErrNotFound)
		}
		rc, err := decodeReceipt(raw)
		if err != nil {
			return nil, fmt.Errorf("ethereum: eth_getTransactionReceipt %s: %w", b.txs[i].hash, err)
		}
		rs[i] = *rc
	}
	return rs, nil
}

// traces reads the call traces of b's transactions. When there are none
// it returns why in traceErr; err is for failures that fail the block:
// an unreachable node, a malformed answer, a cancelled ctx.
func (r *RPC) traces(ctx context.Context, b *block) (ts []trace, traceErr, err error) {
	if len(b.txs) == 0 {
		return nil, nil, nil
	}
	if r.opts.NoTrace {
		return nil, ErrTracingOff, nil
	}
	r.mu.Lock()
	support := r.mu.debug
	r.mu.Unlock()
	if support == Unsupported {
		return nil, ErrNoDebugAPI, nil
	}
	var raw json.RawMessage
	err = r.call(ctx, "debug_traceBlockByNumber", &raw, hexInt(b.number), map[string]string{"tracer": "callTracer"})
	var re *RPCError
	var he *HTTPError
	switch {
	case errors.As(err, &re) && re.MethodNotFound():
		if r.setSupport(&r.mu.debug, Unsupported) {
			r.log.WarnContext(ctx, "node offers no debug API: internal transfers unknown")
		}
		return nil, ErrNoDebugAPI, nil
	case errors.As(err, &re), errors.As(err, &he):
		return nil, err, nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		// The trace took longer than the per-request timeout: heavy
		// blocks do. The block is read untraced.
		return nil, err, nil
	case err != nil:
		return nil, nil, err
	case isNull(raw):
		return nil, nil, fmt.Errorf("%w: block %d: debug_traceBlockByNumber gave null", ErrInconsistent, b.number)
	}
	r.setSupport(&r.mu.debug, Supported)
	if ts, err = decodeTraces(raw); err != nil {
		return nil, nil, fmt.Errorf("ethereum: debug_traceBlockByNumber %d: %w", b.number, err)
	}
	return ts, nil, nil
}

// uncles reads b's uncles, in order.
func (r *RPC) uncles(ctx context.Context, b *block) ([]uncle, error) {
	params := make([][]any, len(b.uncles))
	for i := range b.uncles {
		params[i] = []any{hexInt(b.number), hexInt(int64(i))}
	}
	raws, err := r.batch(ctx, "eth_getUncleByBlockNumberAndIndex", params)
	if err != nil {
		return nil, err
	}
	us := make([]uncle, len(raws))
	for i, raw := range raws {
		if isNull(raw) {
			return nil, fmt.Errorf("%w: block %d: uncle %d not found", ErrInconsistent, b.number, i)
		}
		u, err := decodeUncle(raw)
		if err != nil {
			return nil, fmt.Errorf("ethereum: eth_getUncleByBlockNumberAndIndex %d %d: %w", b.number, i, err)
		}
		us[i] = *u
	}
	return us, nil
}

// setSupport records what the node offers and reports whether that
// changed what was known.
func (r *RPC) setSupport(field *Support, s Support) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := *field != s
	*field = s
	return changed
}

// request and response are JSON-RPC 2.0 envelopes.
type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type response struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// rpcError returns the response's error, nil if it has none.
func (resp *response) rpcError(method string) error {
	if resp.Error == nil {
		return nil
	}
	return &RPCError{Method: method, Code: resp.Error.Code, Message: resp.Error.Message, Data: resp.Error.Data}
}

// call sends one request and decodes its result into result.
func (r *RPC) call(ctx context.Context, method string, result any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	req := request{JSONRPC: "2.0", ID: r.id.Add(1), Method: method, Params: params}
	body, err := r.post(ctx, method, req)
	if err != nil {
		return err
	}
	var resp response
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("ethereum: %s: %w", method, malformed("%v (response starts %q)", err, clip(string(body))))
	}
	if err := resp.rpcError(method); err != nil {
		return err
	}
	if string(resp.ID) != strconv.FormatUint(req.ID, 10) {
		return fmt.Errorf("ethereum: %s: %w", method, malformed("response id %s for request id %d", clip(string(resp.ID)), req.ID))
	}
	if resp.Result == nil {
		return fmt.Errorf("ethereum: %s: %w", method, malformed("response has neither result nor error"))
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return fmt.Errorf("ethereum: %s: %w", method, malformed("result: %v", err))
	}
	return nil
}

// batch calls method once per params in JSON-RPC batches of at most
// BatchSize requests and returns the raw results in order. The first
// error any request got fails the whole.
func (r *RPC) batch(ctx context.Context, method string, params [][]any) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(params))
	for start := 0; start < len(params); start += r.opts.BatchSize {
		end := min(start+r.opts.BatchSize, len(params))
		reqs := make([]request, end-start)
		index := make(map[string]int, len(reqs))
		for i := range reqs {
			reqs[i] = request{JSONRPC: "2.0", ID: r.id.Add(1), Method: method, Params: params[start+i]}
			index[strconv.FormatUint(reqs[i].ID, 10)] = i
		}
		body, err := r.post(ctx, method, reqs)
		if err != nil {
			return nil, err
		}
		var resps []response
		if err := json.Unmarshal(body, &resps); err != nil {
			// A node that refuses the whole batch answers with one error.
			var one response
			if json.Unmarshal(body, &one) == nil && one.Error != nil {
				return nil, one.rpcError(method)
			}
			return nil, fmt.Errorf("ethereum: %s batch: %w", method, malformed("%v (response starts %q)", err, clip(string(body))))
		}
		results := make([]json.RawMessage, len(reqs))
		for _, resp := range resps {
			i, ok := index[string(resp.ID)]
			if !ok {
				return nil, fmt.Errorf("ethereum: %s batch: %w", method, malformed("response id %s matches no request", clip(string(resp.ID))))
			}
			if err := resp.rpcError(method); err != nil {
				return nil, err
			}
			if resp.Result == nil {
				return nil, fmt.Errorf("ethereum: %s batch: %w", method, malformed("response %s has neither result nor error", resp.ID))
			}
			results[i] = resp.Result
			delete(index, string(resp.ID))
		}
		if len(index) > 0 {
			return nil, fmt.Errorf("ethereum: %s batch: %w", method, malformed("%d of %d requests got no response", len(index), len(reqs)))
		}
		out = append(out, results...)
	}
	return out, nil
}

// post sends one HTTP request and returns the body of a 200 response.
func (r *RPC) post(ctx context.Context, method string, payload any) ([]byte, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("ethereum: %s: encode request: %w", method, err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("ethereum: %s: new request: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return nil, r.unreachable(parent, method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, r.unreachable(parent, method, err)
	}
	if int64(len(body)) > r.opts.MaxResponseBytes {
		return nil, fmt.Errorf("ethereum: %s: response over %d bytes", method, r.opts.MaxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var one response
		if json.Unmarshal(body, &one) == nil && one.Error != nil {
			return nil, one.rpcError(method)
		}
		return nil, &HTTPError{Method: method, StatusCode: resp.StatusCode, Body: clip(string(body))}
	}
	return body, nil
}

// unreachable wraps a transport error without the URL, which may hold
// credentials. When the caller's ctx ended, its error is returned instead.
func (r *RPC) unreachable(ctx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("ethereum: %s: %w", method, context.Cause(ctx))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%w: %s at %s: %w", ErrUnreachable, method, r.endpoint, err)
}

// hexInt encodes a non-negative integer as a JSON-RPC quantity.
func hexInt(n int64) string { return "0x" + strconv.FormatInt(n, 16) }

var _ chain.Source = (*RPC)(nil)
