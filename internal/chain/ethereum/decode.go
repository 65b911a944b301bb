package ethereum

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// ErrMalformed reports a node response that is not what the JSON-RPC
// method promises: bad JSON, a missing field, a hex quantity that is not
// one, a receipt for another transaction. The wrapping error names the
// method, the block or transaction, and the field.
var ErrMalformed = errors.New("ethereum: malformed node response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// The wire types mirror the JSON-RPC results field for field. Every value
// is kept as the node wrote it (a *string, nil when the field is absent or
// null) and parsed by the decode functions, so that an error can name the
// field it is about.

type wireBlock struct {
	Number        *string           `json:"number"`
	Hash          *string           `json:"hash"`
	ParentHash    *string           `json:"parentHash"`
	Timestamp     *string           `json:"timestamp"`
	Miner         *string           `json:"miner"`
	Author        *string           `json:"author"` // OpenEthereum's name for miner
	Difficulty    *string           `json:"difficulty"`
	BaseFeePerGas *string           `json:"baseFeePerGas"`
	Transactions  []json.RawMessage `json:"transactions"`
	Uncles        []string          `json:"uncles"`
	Withdrawals   []wireWithdrawal  `json:"withdrawals"`
}

type wireTx struct {
	Hash                 *string `json:"hash"`
	From                 *string `json:"from"`
	To                   *string `json:"to"`
	Nonce                *string `json:"nonce"`
	Value                *string `json:"value"`
	Gas                  *string `json:"gas"`
	GasPrice             *string `json:"gasPrice"`
	MaxFeePerGas         *string `json:"maxFeePerGas"`
	MaxPriorityFeePerGas *string `json:"maxPriorityFeePerGas"`
	Creates              *string `json:"creates"` // OpenEthereum: the created contract
}

type wireWithdrawal struct {
	Address *string `json:"address"`
	Amount  *string `json:"amount"`
}

type wireReceipt struct {
	TransactionHash   *string   `json:"transactionHash"`
	BlockHash         *string   `json:"blockHash"`
	Status            *string   `json:"status"`
	Root              *string   `json:"root"`
	GasUsed           *string   `json:"gasUsed"`
	EffectiveGasPrice *string   `json:"effectiveGasPrice"`
	ContractAddress   *string   `json:"contractAddress"`
	BlobGasUsed       *string   `json:"blobGasUsed"`
	BlobGasPrice      *string   `json:"blobGasPrice"`
	Logs              []wireLog `json:"logs"`
}

type wireLog struct {
	Address *string  `json:"address"`
	Topics  []string `json:"topics"`
	Data    *string  `json:"data"`
	Removed bool     `json:"removed"`
}

type wireFrame struct {
	Type  *string     `json:"type"`
	From  *string     `json:"from"`
	To    *string     `json:"to"`
	Value *string     `json:"value"`
	Error *string     `json:"error"`
	Calls []wireFrame `json:"calls"`
}

type wireTrace struct {
	TxHash *string    `json:"txHash"`
	Result *wireFrame `json:"result"`
	Error  *string    `json:"error"`
}

type wireUncle struct {
	Hash   *string `json:"hash"`
	Number *string `json:"number"`
	Miner  *string `json:"miner"`
	Author *string `json:"author"`
}

// block is a decoded eth_getBlockByNumber(n, true) result.
type block struct {
	number       int64
	hash, parent string
	time         time.Time
	miner        string
	difficulty   *big.Int // nil when the node did not say
	baseFee      *big.Int // nil before London
	txs          []tx
	uncles       []string
	withdrawals  []withdrawal
}

// tx is a transaction of a block.
type tx struct {
	hash, from string
	to         string // "" for a contract creation
	nonce      uint64
	value      *big.Int
	gas        uint64
	gasPrice   *big.Int // nil when absent
	maxFee     *big.Int // nil unless EIP-1559
	maxTip     *big.Int // nil unless EIP-1559
	creates    string
}

type withdrawal struct {
	address string
	gwei    uint64
}

// receipt is a decoded transaction receipt.
type receipt struct {
	txHash, blockHash string
	// status is 1 (success) or 0 (failure) since Byzantium, -1 before it
	// (the receipt carries a state root instead).
	status            int
	gasUsed           uint64
	effectiveGasPrice *big.Int // nil when absent
	contractAddress   string
	blobGasUsed       uint64
	blobGasPrice      *big.Int
	logs              []log
}

type log struct {
	address string
	topics  []string // lower-case 0x hex, 32 bytes each
	data    []byte
	removed bool
}

// frame is one call of a callTracer trace.
type frame struct {
	typ      string // upper case: CALL, CREATE, ...
	from, to string // "" when absent
	value    *big.Int
	err      string
	calls    []frame
}

// trace is the call trace of one transaction, or the tracer's error.
type trace struct {
	txHash string // "" when the node did not say
	root   *frame
	err    string
}

type uncle struct {
	hash   string
	number int64
	miner  string
}

// decodeBlock decodes an eth_getBlockByNumber(n, true) result.
func decodeBlock(raw []byte) (*block, error) {
	if isNull(raw) {
		return nil, malformed("block is null")
	}
	var w wireBlock
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, malformed("block: %v", err)
	}
	var p parser
	b := &block{
		number: p.height("number", w.Number),
		hash:   p.hash("hash", w.Hash),
		parent: p.hash("parentHash", w.ParentHash),
	}
	ts := p.uint64("timestamp", w.Timestamp)
	if ts > math.MaxInt64/2 {
		p.fail("timestamp", "%d is out of range", ts)
	}
	b.time = time.Unix(int64(ts), 0).UTC()
	miner := w.Miner
	if miner == nil {
		miner = w.Author
	}
	b.miner = p.address("miner", miner)
	if w.Difficulty != nil {
		b.difficulty = p.big("difficulty", w.Difficulty)
	}
	if w.BaseFeePerGas != nil {
		b.baseFee = p.big("baseFeePerGas", w.BaseFeePerGas)
	}
	if p.err != nil {
		return nil, p.err
	}
	b.txs = make([]tx, len(w.Transactions))
	for i, raw := range w.Transactions {
		t, err := decodeTx(raw)
		if err != nil {
			return nil, fmt.Errorf("block %s: transaction %d: %w", b.hash, i, err)
		}
		b.txs[i] = *t
	}
	for i, u := range w.Uncles {
		b.uncles = append(b.uncles, p.hash(fmt.Sprintf("uncles[%d]", i), &u))
	}
	for i, wd := range w.Withdrawals {
		b.withdrawals = append(b.withdrawals, withdrawal{
			address: p.address(fmt.Sprintf("withdrawals[%d].address", i), wd.Address),
			gwei:    p.uint64(fmt.Sprintf("withdrawals[%d].amount", i), wd.Amount),
		})
	}
	if p.err != nil {
		return nil, fmt.Errorf("block %s: %w", b.hash, p.err)
	}
	return b, nil
}

func decodeTx(raw []byte) (*tx, error) {
	if len(raw) > 0 && raw[0] == '"' {
		return nil, malformed("a transaction hash where the transaction object belongs (eth_getBlockByNumber must be asked for full transactions)")
	}
	var w wireTx
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, malformed("%v", err)
	}
	var p parser
	t := &tx{
		hash:  p.hash("hash", w.Hash),
		from:  p.address("from", w.From),
		nonce: p.uint64("nonce", w.Nonce),
		value: p.big("value", w.Value),
		gas:   p.uint64("gas", w.Gas),
	}
	if w.To != nil {
		t.to = p.address("to", w.To)
	}
	if w.GasPrice != nil {
		t.gasPrice = p.big("gasPrice", w.GasPrice)
	}
	if w.MaxFeePerGas != nil {
		t.maxFee = p.big("maxFeePerGas", w.MaxFeePerGas)
	}
	if w.MaxPriorityFeePerGas != nil {
		t.maxTip = p.big("maxPriorityFeePerGas", w.MaxPriorityFeePerGas)
	}
	if w.Creates != nil {
		t.creates = p.address("creates", w.Creates)
	}
	if p.err != nil {
		if t.hash != "" {
			return nil, fmt.Errorf("%s: %w", t.hash, p.err)
		}
		return nil, p.err
	}
	return t, nil
}

// decodeReceipt decodes one eth_getTransactionReceipt result (or one
// element of eth_getBlockReceipts).
func decodeReceipt(raw []byte) (*receipt, error) {
	if isNull(raw) {
		return nil, malformed("receipt is null")
	}
	var w wireReceipt
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, malformed("receipt: %v", err)
	}
	var p parser
	r := &receipt{
		txHash:    p.hash("transactionHash", w.TransactionHash),
		blockHash: p.hash("blockHash", w.BlockHash),
		gasUsed:   p.uint64("gasUsed", w.GasUsed),
		status:    -1,
	}
	switch {
	case w.Status != nil:
		switch s := p.uint64("status", w.Status); s {
		case 0, 1:
			r.status = int(s)
		default:
			p.fail("status", "%d is neither 0x0 nor 0x1", s)
		}
	case w.Root != nil:
		p.hash("root", w.Root)
	default:
		p.fail("status", "the receipt has neither status nor root")
	}
	if w.EffectiveGasPrice != nil {
		r.effectiveGasPrice = p.big("effectiveGasPrice", w.EffectiveGasPrice)
	}
	if w.ContractAddress != nil {
		r.contractAddress = p.address("contractAddress", w.ContractAddress)
	}
	if w.BlobGasUsed != nil {
		r.blobGasUsed = p.uint64("blobGasUsed", w.BlobGasUsed)
	}
	if w.BlobGasPrice != nil {
		r.blobGasPrice = p.big("blobGasPrice", w.BlobGasPrice)
	}
	for i, l := range w.Logs {
		name := fmt.Sprintf("logs[%d]", i)
		lg := log{
			address: p.address(name+".address", l.Address),
			data:    p.bytes(name+".data", l.Data),
			removed: l.Removed,
		}
		for j := range l.Topics {
			lg.topics = append(lg.topics, p.hash(fmt.Sprintf("%s.topics[%d]", name, j), &l.Topics[j]))
		}
		r.logs = append(r.logs, lg)
	}
	if p.err != nil {
		if r.txHash != "" {
			return nil, fmt.Errorf("receipt of %s: %w", r.txHash, p.err)
		}
		return nil, fmt.Errorf("receipt: %w", p.err)
	}
	return r, nil
}

// decodeReceipts decodes an eth_getBlockReceipts result.
func decodeReceipts(raw []byte) ([]receipt, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, malformed("receipts: %v", err)
	}
	if items == nil {
		return nil, malformed("receipts: null")
	}
	out := make([]receipt, len(items))
	for i, it := range items {
		r, err := decodeReceipt(it)
		if err != nil {
			return nil, fmt.Errorf("receipt %d: %w", i, err)
		}
		out[i] = *r
	}
	return out, nil
}

// decodeTraces decodes a debug_traceBlockByNumber result from the
// callTracer: one {txHash?, result | error} per transaction.
func decodeTraces(raw []byte) ([]trace, error) {
	var items []wireTrace
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, malformed("call traces: %v", err)
	}
	if items == nil {
		return nil, malformed("call traces: null")
	}
	out := make([]trace, len(items))
	for i, it := range items {
		var p parser
		t := trace{}
		if it.TxHash != nil {
			t.txHash = p.hash("txHash", it.TxHash)
		}
		switch {
		case it.Error != nil:
			t.err = *it.Error
			if t.err == "" {
				t.err = "tracer failed"
			}
		case it.Result != nil:
			t.root = p.frame("result", it.Result)
		default:
			p.fail("result", "the trace has neither result nor error")
		}
		if p.err != nil {
			return nil, fmt.Errorf("call trace %d: %w", i, p.err)
		}
		out[i] = t
	}
	return out, nil
}

// decodeUncle decodes an eth_getUncleByBlockNumberAndIndex result.
func decodeUncle(raw []byte) (*uncle, error) {
	if isNull(raw) {
		return nil, malformed("uncle is null")
	}
	var w wireUncle
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, malformed("uncle: %v", err)
	}
	var p parser
	miner := w.Miner
	if miner == nil {
		miner = w.Author
	}
	u := &uncle{
		hash:   p.hash("hash", w.Hash),
		number: p.height("number", w.Number),
		miner:  p.address("miner", miner),
	}
	if p.err != nil {
		return nil, fmt.Errorf("uncle: %w", p.err)
	}
	return u, nil
}

// parser parses the fields of one wire object, keeping the first error,
// which names the field. Once it has failed, every method returns a zero
// value.
type parser struct {
	err error
}

func (p *parser) fail(field, format string, args ...any) {
	if p.err == nil {
		p.err = malformed("%s: %s", field, fmt.Sprintf(format, args...))
	}
}

func (p *parser) need(field string, s *string) (string, bool) {
	if p.err != nil {
		return "", false
	}
	if s == nil {
		p.fail(field, "missing")
		return "", false
	}
	return *s, true
}

// hexDigits returns the digits of a 0x-prefixed hex string.
func (p *parser) hexDigits(field, s string) (string, bool) {
	d, ok := strings.CutPrefix(s, "0x")
	if !ok {
		d, ok = strings.CutPrefix(s, "0X")
	}
	if !ok {
		p.fail(field, "%q is not 0x hex", clip(s))
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if !isHex(d[i]) {
			p.fail(field, "%q is not 0x hex", clip(s))
			return "", false
		}
	}
	return d, true
}

// big parses a hex quantity of at most 256 bits.
func (p *parser) big(field string, s *string) *big.Int {
	v, ok := p.need(field, s)
	if !ok {
		return nil
	}
	d, ok := p.hexDigits(field, v)
	if !ok {
		return nil
	}
	d = strings.TrimLeft(d, "0")
	if len(d) > 64 {
		p.fail(field, "%q is over 256 bits", clip(v))
		return nil
	}
	if d == "" {
		if v == "0x" || v == "0X" {
			p.fail(field, "%q has no digits", v)
			return nil
		}
		return new(big.Int)
	}
	n, _ := new(big.Int).SetString(d, 16)
	return n
}

// uint64 parses a hex quantity of at most 64 bits.
func (p *parser) uint64(field string, s *string) uint64 {
	n := p.big(field, s)
	if n == nil {
		return 0
	}
	if !n.IsUint64() {
		p.fail(field, "%q is over 64 bits", clip(*s))
		return 0
	}
	return n.Uint64()
}

// height parses a block number, which must fit an int64.
func (p *parser) height(field string, s *string) int64 {
	n := p.uint64(field, s)
	if n > math.MaxInt64 {
		p.fail(field, "%d is over 2^63-1", n)
		return 0
	}
	return int64(n)
}

// fixed parses 0x hex of exactly size bytes and returns it in lower case.
func (p *parser) fixed(field string, s *string, size int) string {
	v, ok := p.need(field, s)
	if !ok {
		return ""
	}
	d, ok := p.hexDigits(field, v)
	if !ok {
		return ""
	}
	if len(d) != 2*size {
		p.fail(field, "%q is not %d bytes of hex", clip(v), size)
		return ""
	}
	return "0x" + strings.ToLower(d)
}

// address parses a 20-byte address into its canonical form: lower-case
// 0x hex.
func (p *parser) address(field string, s *string) string { return p.fixed(field, s, 20) }

// hash parses a 32-byte hash into lower-case 0x hex.
func (p *parser) hash(field string, s *string) string { return p.fixed(field, s, 32) }

// bytes parses 0x hex data of any even length.
func (p *parser) bytes(field string, s *string) []byte {
	v, ok := p.need(field, s)
	if !ok {
		return nil
	}
	d, ok := p.hexDigits(field, v)
	if !ok {
		return nil
	}
	if len(d)%2 != 0 {
		p.fail(field, "odd number of hex digits")
		return nil
	}
	b, _ := hex.DecodeString(d)
	return b
}

// frame parses a callTracer frame and its subcalls.
func (p *parser) frame(field string, w *wireFrame) *frame {
	if p.err != nil {
		return nil
	}
	f := &frame{}
	if w.Type == nil {
		p.fail(field+".type", "missing")
		return nil
	}
	f.typ = strings.ToUpper(*w.Type)
	if w.From != nil {
		f.from = p.address(field+".from", w.From)
	}
	if w.To != nil {
		f.to = p.address(field+".to", w.To)
	}
	if w.Value != nil {
		f.value = p.big(field+".value", w.Value)
	}
	if w.Error != nil {
		f.err = *w.Error
		if f.err == "" {
			f.err = "failed"
		}
	}
	if len(w.Calls) > 0 {
		f.calls = make([]frame, len(w.Calls))
		for i := range w.Calls {
			c := p.frame(fmt.Sprintf("%s.calls[%d]", field, i), &w.Calls[i])
			if c == nil {
				return nil
			}
			f.calls[i] = *c
		}
	}
	if p.err != nil {
		return nil
	}
	return f
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isNull(raw []byte) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
