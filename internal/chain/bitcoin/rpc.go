package bitcoin

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

// RPCOptions configure an [RPC] source. The zero value is valid: no
// credentials, a 30-second timeout per request.
type RPCOptions struct {
	// User and Password authenticate with HTTP Basic, as the node's
	// rpcuser and rpcpassword (or rpcauth) settings. Credentials in the URL
	// (http://user:pass@host:8332) are used when User is empty.
	// Default: none.
	User, Password string
	// CookieFile is the path of Bitcoin Core's .cookie file, which holds
	// "__cookie__:<password>". It is read at the first request and again
	// after the node answers 401 (the node writes a new cookie each time it
	// starts). Used when neither User nor the URL give credentials.
	// Default: none.
	CookieFile string
	// Timeout bounds each request. Default: 30s.
	Timeout time.Duration
	// HTTPClient sends the requests; set one with its own TLS
	// configuration to reach an https endpoint with a private CA.
	// Default: a client of the package's own.
	HTTPClient *http.Client
	// MaxResponseBytes bounds the size of a response body. Default: 64 MiB
	// (a 4 MB block is 8 MB of hex).
	MaxResponseBytes int64
}

// EnsureDefaults fills in the zero fields with their defaults.
func (o *RPCOptions) EnsureDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
}

// LogValue shows the options without the password.
func (o RPCOptions) LogValue() slog.Value {
	pw := ""
	if o.Password != "" {
		pw = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("user", o.User),
		slog.String("password", pw),
		slog.String("cookie_file", o.CookieFile),
		slog.Duration("timeout", o.Timeout),
	)
}

// RPC is a [chain.Source] that reads blocks from a Bitcoin Core-compatible
// node over JSON-RPC: Bitcoin Core, btcd and Litecoin Core speak the same
// calls (getblockcount, getblockhash, getblock, getbestblockhash). Blocks
// are fetched raw (getblock verbosity 0) and decoded by [DecodeBlock], so
// they pass the same merkle check as blocks read from files.
//
// An RPC is safe for concurrent use and holds no resources to close.
type RPC struct {
	url  string // without user info
	net  Network
	opts RPCOptions
	// cookie says whether the credentials come from opts.CookieFile.
	cookie bool
	id     atomic.Uint64
	// verbose says how getblock takes its verbosity: an integer (Bitcoin
	// Core 0.15 and later, Litecoin Core, btcd 0.22 and later) or a
	// boolean (older btcd and Bitcoin Core), learned at the first call.
	verbose atomic.Int32
	mu      struct {
		sync.Mutex
		// user and pass are the credentials in use; loaded says whether
		// they were read from the cookie file already.
		user, pass string
		loaded     bool
	}
}

// How getblock takes its verbosity.
const (
	verboseUnknown int32 = iota
	verboseInteger
	verboseBoolean
)

// NewRPC returns a source that reads blocks of network net from the
// JSON-RPC endpoint at rawURL ("http://127.0.0.1:8332", or https). It does
// not contact the node.
func NewRPC(rawURL string, net Network, opts RPCOptions) (*RPC, error) {
	if !net.valid() {
		return nil, fault.New(fault.Malformed, "bitcoin rpc: invalid network %v", net)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fault.New(fault.Malformed, "bitcoin rpc: bad URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fault.New(fault.Malformed, "bitcoin rpc: URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fault.New(fault.Malformed, "bitcoin rpc: URL %q has no host", u.Redacted())
	}
	opts.EnsureDefaults()
	c := &RPC{net: net, opts: opts}
	switch {
	case opts.User != "":
		c.mu.user, c.mu.pass, c.mu.loaded = opts.User, opts.Password, true
	case u.User != nil:
		c.mu.user = u.User.Username()
		c.mu.pass, _ = u.User.Password()
		c.mu.loaded = true
	case opts.CookieFile == "":
		c.mu.loaded = true // no credentials
	default:
		c.cookie = true
	}
	u.User = nil
	if u.Path == "" {
		u.Path = "/"
	}
	c.url = u.String()
	return c, nil
}

// Chain returns the chain id of the network.
func (c *RPC) Chain() string { return c.net.Chain() }

// Network returns the network the source reads.
func (c *RPC) Network() Network { return c.net }

// Tip returns the height of the node's best block (getblockcount).
func (c *RPC) Tip(ctx context.Context) (int64, error) {
	var n int64
	if err := c.Call(ctx, "getblockcount", nil, &n); err != nil {
		return 0, err
	}
	return n, nil
}

// BestBlockHash returns the hash of the node's best block
// (getbestblockhash).
func (c *RPC) BestBlockHash(ctx context.Context) (string, error) {
	var h string
	if err := c.Call(ctx, "getbestblockhash", nil, &h); err != nil {
		return "", err
	}
	return h, checkHash("getbestblockhash", h)
}

// BlockHash returns the hash of the block at height on the node's best
// chain (getblockhash). A height the node does not have is an error
// wrapping [chain.ErrNotFound].
func (c *RPC) BlockHash(ctx context.Context, height int64) (string, error) {
	if height < 0 {
		return "", fmt.Errorf("bitcoin rpc getblockhash %d: %w", height, chain.ErrNotFound)
	}
	var h string
	if err := c.Call(ctx, "getblockhash", []any{height}, &h); err != nil {
		var re *RPCError
		// Bitcoin Core answers -8 (invalid parameter: out of range), btcd -1
		// (its ErrRPCOutOfRange).
		if errors.As(err, &re) && (re.Code == -8 || re.Code == -1) {
			return "", fmt.Errorf("%w: %w", chain.ErrNotFound, err)
		}
		return "", err
	}
	return h, checkHash("getblockhash", h)
}

// RawBlock returns the serialized block with hash (getblock verbosity 0,
// or verbose=false for nodes that take a boolean). A block the node does
// not have is an error wrapping [chain.ErrNotFound].
func (c *RPC) RawBlock(ctx context.Context, hash string) ([]byte, error) {
	if err := checkHash("getblock", hash); err != nil {
		return nil, err
	}
	var hexBlock string
	style := c.verbose.Load()
	var err error
	if style != verboseBoolean {
		err = c.Call(ctx, "getblock", []any{hash, 0}, &hexBlock)
		var re *RPCError
		switch {
		case err == nil:
			c.verbose.Store(verboseInteger)
		case style == verboseUnknown && errors.As(err, &re) && paramTypeError(re.Code):
			// A node that wants a boolean: try that.
			if err2 := c.Call(ctx, "getblock", []any{hash, false}, &hexBlock); err2 != nil {
				return nil, notFound(err2)
			}
			c.verbose.Store(verboseBoolean)
			err = nil
		default:
			return nil, notFound(err)
		}
	} else if err = c.Call(ctx, "getblock", []any{hash, false}, &hexBlock); err != nil {
		return nil, notFound(err)
	}
	raw, err := hex.DecodeString(hexBlock)
	if err != nil {
		return nil, fault.New(fault.Malformed, "bitcoin rpc getblock %s at %s: result is not hex: %v", hash, c.url, err)
	}
	return raw, nil
}

// paramTypeError reports whether code is an error a node gives for a
// parameter of the wrong JSON type: -32602 (invalid params, btcd), -32700
// (parse error, old Bitcoin Core), -3 (type error), -1 (misc error, old
// Bitcoin Core's failed get_bool) or -8 (invalid parameter).
func paramTypeError(code int) bool {
	switch code {
	case -32602, -32700, -3, -1, -8:
		return true
	}
	return false
}

// notFound marks a getblock error for a block the node does not have:
// code -5 (RPC_INVALID_ADDRESS_OR_KEY, "Block not found", in Bitcoin Core
// and btcd alike).
func notFound(err error) error {
	var re *RPCError
	if errors.As(err, &re) && re.Code == -5 {
		return fmt.Errorf("%w: %w", chain.ErrNotFound, err)
	}
	return err
}

// BlockByHash returns the decoded block with hash. Its Height is the one
// its coinbase commits to, or -1 (see [DecodeBlock]).
func (c *RPC) BlockByHash(ctx context.Context, hash string) (*chain.Block, error) {
	raw, err := c.RawBlock(ctx, hash)
	if err != nil {
		return nil, err
	}
	b, err := DecodeBlock(c.net, raw)
	if err != nil {
		return nil, fmt.Errorf("bitcoin rpc getblock %s: %w", hash, err)
	}
	if b.Hash != strings.ToLower(hash) {
		return nil, fault.New(fault.Malformed, "bitcoin rpc getblock %s at %s: the node returned block %s", hash, c.url, b.Hash)
	}
	return b, nil
}

// BlockAt returns the decoded block at height on the node's best chain,
// with Height set. A height above the node's tip is an error wrapping
// [chain.ErrNotFound].
func (c *RPC) BlockAt(ctx context.Context, height int64) (*chain.Block, error) {
	hash, err := c.BlockHash(ctx, height)
	if err != nil {
		return nil, err
	}
	b, err := c.BlockByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	b.Height = height
	return b, nil
}

// checkHash checks that h is a block hash: 64 hex digits.
func checkHash(method, h string) error {
	if len(h) != 64 {
		return fault.New(fault.Malformed, "bitcoin rpc %s: %q is not a block hash", method, h)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fault.New(fault.Malformed, "bitcoin rpc %s: %q is not a block hash", method, h)
	}
	return nil
}

// RPCError is an error the node answered a call with.
type RPCError struct {
	Method  string
	Code    int
	Message string
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("bitcoin rpc %s: node error %d: %s", e.Method, e.Code, e.Message)
}

// Call calls method with params and decodes the result into result (a
// pointer, or nil to discard it). Errors: *[RPCError] when the node
// answers with an error; *[fault.Error] with code Unauthorized (HTTP 401,
// 403), Unavailable (the node cannot be reached, or answers an HTTP error
// without a JSON-RPC body), TooLarge or Malformed (not a JSON-RPC response,
// or a result of the wrong type).
func (c *RPC) Call(ctx context.Context, method string, params []any, result any) error {
	if params == nil {
		params = []any{}
	}
	id := c.id.Add(1)
	body, err := json.Marshal(rpcRequest{JSONRPC: "1.0", ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("bitcoin rpc %s: encode request: %w", method, err)
	}
	for attempt := 0; ; attempt++ {
		user, pass, err := c.credentials(attempt > 0)
		if err != nil {
			return err
		}
		status, respBody, err := c.post(ctx, method, body, user, pass)
		if err != nil {
			return err
		}
		if status == http.StatusUnauthorized && attempt == 0 && c.cookie {
			continue // the node may have restarted with a new cookie
		}
		res, err := decodeResponse(method, status, respBody, id)
		if err != nil {
			return c.at(err)
		}
		if result == nil {
			return nil
		}
		if isNull(res) {
			return fault.New(fault.Malformed, "bitcoin rpc %s at %s: empty result", method, c.url)
		}
		if err := json.Unmarshal(res, result); err != nil {
			return fault.New(fault.Malformed, "bitcoin rpc %s at %s: unexpected result %s: %v", method, c.url, snippet(res), err)
		}
		return nil
	}
}

// at adds the endpoint to a fault error's message.
func (c *RPC) at(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return &fault.Error{Code: fe.Code, Message: fe.Message + " (" + c.url + ")", Err: fe.Err}
	}
	return err
}

// credentials returns the user and password to send, reading the cookie
// file when it has not been read yet or reload is set.
func (c *RPC) credentials(reload bool) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.loaded && !(reload && c.cookie) {
		return c.mu.user, c.mu.pass, nil
	}
	b, err := os.ReadFile(c.opts.CookieFile)
	if err != nil {
		return "", "", fault.Wrap(fault.Unauthorized, err, "bitcoin rpc: read cookie file")
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok || user == "" {
		return "", "", fault.New(fault.Unauthorized, "bitcoin rpc: cookie file %s does not hold user:password", c.opts.CookieFile)
	}
	c.mu.user, c.mu.pass, c.mu.loaded = user, pass, true
	return user, pass, nil
}

// post sends one request and returns the status and the body.
func (c *RPC) post(ctx context.Context, method string, body []byte, user, pass string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("bitcoin rpc %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, fault.Wrap(fault.Unavailable, err, "bitcoin rpc %s at %s", method, c.url)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBytes+1))
	if err != nil {
		return 0, nil, fault.Wrap(fault.Unavailable, err, "bitcoin rpc %s at %s: read response", method, c.url)
	}
	if int64(len(respBody)) > c.opts.MaxResponseBytes {
		return 0, nil, fault.New(fault.TooLarge, "bitcoin rpc %s at %s: response larger than %d bytes", method, c.url, c.opts.MaxResponseBytes)
	}
	return resp.StatusCode, respBody, nil
}

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	ID     json.RawMessage `json:"id"`
}

// decodeResponse interprets a JSON-RPC 1.0 response to the call with id: it
// returns the result, or an *RPCError for an error the node answered, or a
// *fault.Error for an HTTP error or a body that is not a JSON-RPC
// response. Bitcoin Core answers errors with HTTP 500 (404 for an unknown
// method) and a JSON-RPC body; btcd with HTTP 200.
func decodeResponse(method string, status int, body []byte, id uint64) (json.RawMessage, error) {
	switch status {
	case http.StatusUnauthorized:
		return nil, fault.New(fault.Unauthorized, "bitcoin rpc %s: HTTP 401 Unauthorized: wrong RPC user and password or cookie", method)
	case http.StatusForbidden:
		return nil, fault.New(fault.Unauthorized, "bitcoin rpc %s: HTTP 403 Forbidden: the node does not allow this client (rpcallowip)", method)
	}
	var r rpcResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(&r)
	if err == nil && dec.More() {
		err = errors.New("data after the response object")
	}
	if err != nil {
		if status != http.StatusOK {
			return nil, fault.New(fault.Unavailable, "bitcoin rpc %s: HTTP %d %s: %s", method, status, http.StatusText(status), snippet(body))
		}
		return nil, fault.New(fault.Malformed, "bitcoin rpc %s: not a JSON-RPC response (%v): %s", method, err, snippet(body))
	}
	if !isNull(r.Error) {
		var e struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(r.Error, &e) == nil && e.Code != nil {
			return nil, &RPCError{Method: method, Code: *e.Code, Message: e.Message}
		}
		return nil, fault.New(fault.Malformed, "bitcoin rpc %s: malformed error %s", method, snippet(r.Error))
	}
	if status != http.StatusOK {
		return nil, fault.New(fault.Unavailable, "bitcoin rpc %s: HTTP %d %s without an error: %s", method, status, http.StatusText(status), snippet(body))
	}
	if got := strings.TrimSpace(string(r.ID)); got != strconv.FormatUint(id, 10) {
		return nil, fault.New(fault.Malformed, "bitcoin rpc %s: response id %.40s, want %d", method, got, id)
	}
	if r.Result == nil {
		return nil, fault.New(fault.Malformed, "bitcoin rpc %s: response without a result", method)
	}
	return r.Result, nil
}

func isNull(m json.RawMessage) bool {
	s := bytes.TrimSpace(m)
	return len(s) == 0 || string(s) == "null"
}

// snippet quotes the start of a body for an error message.
func snippet(b []byte) string {
	const max = 120
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

var _ chain.Source = (*RPC)(nil)
