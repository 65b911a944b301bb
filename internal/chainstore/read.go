package chainstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

// TxView is a transaction as the index knows it.
type TxView struct {
	Chain          string    `json:"chain"`
	Hash           string    `json:"hash"`
	Num            uint32    `json:"num"`
	Block          string    `json:"block"`
	Height         int64     `json:"height"`
	Time           time.Time `json:"time"`
	Position       uint32    `json:"position"`
	Coinbase       bool      `json:"coinbase,omitempty"`
	Failed         bool      `json:"failed,omitempty"`
	FailureUnknown bool      `json:"failure_unknown,omitempty"`
	// UTXO chains.
	Inputs  []InputView  `json:"inputs,omitempty"`
	Outputs []OutputView `json:"outputs,omitempty"`
	// Fee is the inputs' value less the outputs', when every input is
	// known (not for a coinbase).
	Fee *int64 `json:"fee,omitempty,string"`
	// Account chains.
	Transfers []TransferView `json:"transfers,omitempty"`
}

// InputView is an input: the outpoint it spends and, when that output is
// in the index (Known), its address and value.
type InputView struct {
	PrevTx    string `json:"prev_tx,omitempty"`
	PrevIndex uint32 `json:"prev_vout"`
	Known     bool   `json:"known"`
	Address   string `json:"address,omitempty"`
	Key       string `json:"key,omitempty"`
	Value     int64  `json:"value,string"`
}

// OutputView is an output with what spends it.
type OutputView struct {
	Index   uint32    `json:"n"`
	Value   int64     `json:"value,string"`
	Script  HexBytes  `json:"script"`
	Kind    string    `json:"kind"`
	Address string    `json:"address,omitempty"`
	Key     string    `json:"key,omitempty"`
	SpentBy *SpendRef `json:"spent_by,omitempty"`
}

// SpendRef names a spending input.
type SpendRef struct {
	Tx    string `json:"tx"`
	Input uint32 `json:"input"`
}

// TransferView is an account-chain transfer.
type TransferView struct {
	From    string             `json:"from"`
	To      string             `json:"to"`
	Asset   string             `json:"asset"`
	Amount  *big.Int           `json:"-"`
	Kind    chain.TransferKind `json:"kind"`
	TokenID *big.Int           `json:"-"`
}

// MarshalJSON writes the amounts as decimal strings.
func (t TransferView) MarshalJSON() ([]byte, error) {
	type plain TransferView
	return json.Marshal(struct {
		plain
		Amount  string `json:"amount"`
		TokenID string `json:"token_id,omitempty"`
	}{plain(t), decimal(t.Amount), decimalOrEmpty(t.TokenID)})
}

// HexBytes are bytes that JSON shows in hex.
type HexBytes []byte

// MarshalJSON writes hex.
func (h HexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

// UnmarshalJSON reads hex.
func (h *HexBytes) UnmarshalJSON(p []byte) error {
	var s string
	if err := json.Unmarshal(p, &s); err != nil {
		return err
	}
	b, err := hex.DecodeString(s)
	*h = b
	return err
}

// AddressView is an address key with its totals per asset.
type AddressView struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
	// Num is the address's number in the graph.
	Num uint32 `json:"num"`
	// TxCount counts the transactions that touch the address, in any asset.
	TxCount  uint64         `json:"tx_count"`
	Balances []AssetBalance `json:"balances"`
}

// AssetBalance is an address's totals in one asset.
type AssetBalance struct {
	Asset string `json:"asset"`
	// Balance is Received less Sent. It can be negative where the index
	// lacks the history that funded the address (a detached segment).
	Balance   *big.Int `json:"-"`
	Received  *big.Int `json:"-"`
	Sent      *big.Int `json:"-"`
	TxCount   uint64   `json:"tx_count"`
	FirstSeen Seen     `json:"first_seen"`
	LastSeen  Seen     `json:"last_seen"`
}

// MarshalJSON writes the amounts as decimal strings.
func (b AssetBalance) MarshalJSON() ([]byte, error) {
	type plain AssetBalance
	return json.Marshal(struct {
		plain
		Balance  string `json:"balance"`
		Received string `json:"received"`
		Sent     string `json:"sent"`
	}{plain(b), decimal(b.Balance), decimal(b.Received), decimal(b.Sent)})
}

// Seen is a transaction that touched an address, with its block's height
// and time.
type Seen struct {
	Tx     string    `json:"tx"`
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
}

// HistoryEntry is what one transaction did to an address in one asset.
type HistoryEntry struct {
	Tx       string    `json:"tx"`
	Height   int64     `json:"height"`
	Time     time.Time `json:"time"`
	Asset    string    `json:"asset"`
	Received *big.Int  `json:"-"`
	Sent     *big.Int  `json:"-"`
	// Credits and Debits count the outputs (transfers) to and the inputs
	// (transfers) from the address.
	Credits uint32 `json:"credits"`
	Debits  uint32 `json:"debits"`
}

// MarshalJSON writes the amounts as decimal strings.
func (h HistoryEntry) MarshalJSON() ([]byte, error) {
	type plain HistoryEntry
	return json.Marshal(struct {
		plain
		Received string `json:"received"`
		Sent     string `json:"sent"`
	}{plain(h), decimal(h.Received), decimal(h.Sent)})
}

// HistoryPage is a page of an address's history, in chain order. Next,
// when not empty, is the after of the next page.
type HistoryPage struct {
	Entries []HistoryEntry `json:"entries"`
	Next    string         `json:"next,omitempty"`

	lastKey []byte
}

// BlockView is a block's header and place in the index.
type BlockView struct {
	Chain  string    `json:"chain"`
	Hash   string    `json:"hash"`
	Parent string    `json:"parent"`
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	// State is "applied", or "stale" for a block a reorg rolled back
	// (its transactions are no longer indexed under it).
	State   string   `json:"state"`
	Segment uint32   `json:"segment"`
	TxCount uint32   `json:"tx_count"`
	Txs     []string `json:"txs,omitempty"`
}

// Cursor is where a source's ingest stands: the last block it applied.
type Cursor struct {
	Chain  string    `json:"chain"`
	Source string    `json:"source"`
	Height int64     `json:"height"`
	Hash   string    `json:"hash"`
	Time   time.Time `json:"time"`
}

// Status is what the index holds of a chain.
type Status struct {
	Chain  string `json:"chain"`
	Model  string `json:"model"`
	Blocks uint64 `json:"blocks"`
	Txs    uint64 `json:"txs"`
	// Segments are the runs of connected blocks, by start height (unknown
	// heights last).
	Segments []Segment `json:"segments"`
	// Gaps are the heights missing between consecutive segments of known
	// height.
	Gaps []Gap `json:"gaps,omitempty"`
	// Tip is the end of the segment that reaches highest.
	Tip *BlockRef `json:"tip,omitempty"`
}

// Segment is a run of applied blocks, each the parent of the next.
type Segment struct {
	ID    uint32   `json:"id"`
	Start BlockRef `json:"start"`
	End   BlockRef `json:"end"`
	// Parent is the start's parent, which the index does not have.
	Parent string `json:"parent,omitempty"`
	Blocks uint64 `json:"blocks"`
	Txs    uint64 `json:"txs"`
}

// BlockRef names a block by height (-1: unknown) and hash.
type BlockRef struct {
	Height int64  `json:"height"`
	Hash   string `json:"hash"`
}

// Gap is a run of heights, From to To inclusive, that no segment covers.
type Gap struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

func decimal(x *big.Int) string {
	if x == nil {
		return "0"
	}
	return x.String()
}

func decimalOrEmpty(x *big.Int) string {
	if x == nil {
		return ""
	}
	return x.String()
}

// reader reads one chain on one snapshot.
type reader struct {
	s     *Store
	snap  *pebble.Snapshot
	id    string
	model byte
	k     keys
}

func (s *Store) reader(chainID string) (*reader, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	model, err := modelOf(chainID)
	if err != nil {
		return nil, err
	}
	return &reader{s: s, snap: s.db.NewSnapshot(), id: chainID, model: model, k: newKeys(chainID)}, nil
}

func (r *reader) close() { _ = r.snap.Close() }

func (r *reader) get(key []byte, fn func([]byte) error) error { return r.s.getRec(r.snap, key, fn) }

func (r *reader) txHashOf(num uint32) string {
	var h hash32
	err := r.get(r.k.graph(num), func(p []byte) error {
		if len(p) < 32 {
			return errCorrupt
		}
		copy(h[:], p)
		return nil
	})
	if err != nil {
		return ""
	}
	return showHash(r.model, h)
}

func (r *reader) assetName(n uint32, cache map[uint32]string) string {
	if id, ok := cache[n]; ok {
		return id
	}
	id := fmt.Sprintf("#%d", n)
	_ = r.get(r.k.asset(n), func(p []byte) error { id = string(p); return nil })
	cache[n] = id
	return id
}

// Tx returns the transaction with hash h on chainID: block, position, and
// its inputs (with the address and value of each previous output the
// index has) and outputs (with what spends them), or its transfers.
// A transaction the index does not have is chain.ErrNotFound.
func (s *Store) Tx(ctx context.Context, chainID, h string) (*TxView, error) {
	th, err := parseHash(h)
	if err != nil {
		return nil, err
	}
	r, err := s.reader(chainID)
	if err != nil {
		return nil, err
	}
	defer r.close()
	var rec txRec
	if err := r.get(r.k.tx(th), func(p []byte) (err error) { rec, err = decodeTx(r.model, p); return err }); err != nil {
		return nil, wrapNotFound(err, "tx %s on %s", h, chainID)
	}
	v := &TxView{
		Chain: chainID, Hash: showHash(r.model, th), Num: rec.Num, Block: showHash(r.model, rec.Block), Height: -1, Position: rec.Pos,
		Coinbase: rec.Flags&txCoinbase != 0, Failed: rec.Flags&txFailed != 0, FailureUnknown: rec.Flags&txFailureUnknown != 0,
	}
	var br blockRec
	if err := r.get(r.k.block(rec.Block), func(p []byte) (err error) { br, err = decodeBlock(p); return err }); err != nil {
		return nil, fmt.Errorf("chainstore: block of tx %s: %w", h, err)
	}
	v.Height, v.Time = br.Height, time.Unix(br.Time, 0).UTC()
	if r.model == modelAccount {
		assets := map[uint32]string{}
		for _, t := range rec.Transfers {
			tv := TransferView{From: t.From, To: t.To, Asset: r.assetName(t.Asset, assets), Amount: t.Amount.Big(), Kind: chain.TransferKind(t.Kind)}
			if t.HasToken {
				tv.TokenID = new(big.Int).SetBytes(t.TokenID)
			}
			v.Transfers = append(v.Transfers, tv)
		}
		return v, nil
	}
	var in, out int64
	known := !v.Coinbase
	for _, p := range rec.Inputs {
		iv := InputView{PrevIndex: p.Index}
		if v.Coinbase {
			v.Inputs = append(v.Inputs, iv)
			continue
		}
		iv.PrevTx = showHash(r.model, p.Tx)
		err := r.get(r.k.out(p.Tx, p.Index), func(b []byte) error {
			o, err := decodeOut(b)
			if err != nil {
				return err
			}
			iv.Known, iv.Address, iv.Key, iv.Value = true, o.Address, o.Key, int64(o.Value)
			return nil
		})
		if err != nil && !errors.Is(err, errNoRecord) {
			return nil, fmt.Errorf("chainstore: input of tx %s: %w", h, err)
		}
		if iv.Known {
			in += iv.Value
		} else {
			known = false
		}
		v.Inputs = append(v.Inputs, iv)
	}
	for i := 0; i < int(rec.NOut); i++ {
		idx := rec.outIndex(i)
		var o outRec
		if err := r.get(r.k.out(th, idx), func(b []byte) (err error) { o, err = decodeOut(b); return err }); err != nil {
			return nil, fmt.Errorf("chainstore: output %d of tx %s: %w", idx, h, err)
		}
		ov := OutputView{Index: idx, Value: int64(o.Value), Script: o.Script, Kind: o.Kind, Address: o.Address, Key: o.Key}
		if o.Spent {
			ov.SpentBy = &SpendRef{Tx: showHash(r.model, o.SpentTx), Input: o.SpentIn}
		}
		out += ov.Value
		v.Outputs = append(v.Outputs, ov)
	}
	if known {
		fee := in - out
		v.Fee = &fee
	}
	return v, ctx.Err()
}

// Address returns the totals of an address key on chainID, per asset. On
// a UTXO chain the key is an address, or the script key ("script:<sha256
// hex>") of an output without one; a P2PK output counts under its script
// key and under its P2PKH address. An address the index has never seen
// is chain.ErrNotFound.
func (s *Store) Address(ctx context.Context, chainID, addr string) (*AddressView, error) {
	r, err := s.reader(chainID)
	if err != nil {
		return nil, err
	}
	defer r.close()
	key := canonKey(r.model, addr)
	var ar addrRec
	if err := r.get(r.k.addr(key), func(p []byte) (err error) { ar, err = decodeAddr(p); return err }); err != nil {
		return nil, wrapNotFound(err, "address %s on %s", addr, chainID)
	}
	v := &AddressView{Chain: chainID, Address: key, Num: ar.Num, TxCount: ar.Txs}
	prefix := r.k.balPrefix(key)
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	assets := map[uint32]string{}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+4 {
			continue
		}
		b, err := decodeBal(it.Value())
		if err != nil {
			return nil, fmt.Errorf("chainstore: totals of %s: %w", addr, err)
		}
		recv, sent := b.Received.Big(), b.Sent.Big()
		v.Balances = append(v.Balances, AssetBalance{
			Asset:    r.assetName(binary.BigEndian.Uint32(k[len(k)-4:]), assets),
			Balance:  new(big.Int).Sub(recv, sent),
			Received: recv, Sent: sent, TxCount: b.Txs,
			FirstSeen: Seen{Tx: r.txHashOf(b.First.Tx), Height: b.First.Height, Time: time.Unix(b.First.Time, 0).UTC()},
			LastSeen:  Seen{Tx: r.txHashOf(b.Last.Tx), Height: b.Last.Height, Time: time.Unix(b.Last.Time, 0).UTC()},
		})
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	return v, ctx.Err()
}

// History returns up to limit (default 100, at most 10,000) entries of an
// address's history in chain order, after the entry that after names (a
// page's Next; "" from the start).
func (s *Store) History(ctx context.Context, chainID, addr, after string, limit int) (*HistoryPage, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10_000)
	var from []byte
	if after != "" {
		b, err := hex.DecodeString(after)
		if err != nil || len(b) != 8 {
			return nil, fault.New(fault.Malformed, "chainstore: history cursor %q is not one this store made", after)
		}
		from = b
	}
	r, err := s.reader(chainID)
	if err != nil {
		return nil, err
	}
	defer r.close()
	key := canonKey(r.model, addr)
	if err := r.get(r.k.addr(key), func([]byte) error { return nil }); err != nil {
		return nil, wrapNotFound(err, "address %s on %s", addr, chainID)
	}
	prefix := r.k.histPrefix(key)
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	ok := it.First()
	if from != nil {
		seek := append(append([]byte(nil), prefix...), from...)
		ok = it.SeekGE(seek)
		if ok && bytes.Equal(it.Key(), seek) {
			ok = it.Next()
		}
	}
	page := &HistoryPage{Entries: []HistoryEntry{}}
	assets := map[uint32]string{}
	for ; ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+8 {
			continue
		}
		if len(page.Entries) == limit {
			page.Next = hex.EncodeToString(page.lastKey)
			break
		}
		h, err := decodeHist(it.Value())
		if err != nil {
			return nil, fmt.Errorf("chainstore: history of %s: %w", addr, err)
		}
		page.Entries = append(page.Entries, HistoryEntry{
			Tx: showHash(r.model, h.Tx), Height: h.Height, Time: time.Unix(h.Time, 0).UTC(),
			Asset:    r.assetName(binary.BigEndian.Uint32(k[len(k)-4:]), assets),
			Received: h.Received.Big(), Sent: h.Sent.Big(), Credits: h.Credits, Debits: h.Debits,
		})
		page.lastKey = append(page.lastKey[:0], k[len(prefix):]...)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	return page, ctx.Err()
}

// Block returns the block with hash h, applied or stale.
func (s *Store) Block(ctx context.Context, chainID, h string) (*BlockView, error) {
	bh, err := parseHash(h)
	if err != nil {
		return nil, err
	}
	r, err := s.reader(chainID)
	if err != nil {
		return nil, err
	}
	defer r.close()
	return r.block(bh)
}

func (r *reader) block(bh hash32) (*BlockView, error) {
	var br blockRec
	if err := r.get(r.k.block(bh), func(p []byte) (err error) { br, err = decodeBlock(p); return err }); err != nil {
		return nil, wrapNotFound(err, "block %s on %s", showHash(r.model, bh), r.id)
	}
	v := &BlockView{
		Chain: r.id, Hash: showHash(r.model, bh), Height: br.Height, Time: time.Unix(br.Time, 0).UTC(),
		State: "applied", Segment: br.Seg, TxCount: br.NTx,
	}
	if br.Parent != (hash32{}) {
		v.Parent = showHash(r.model, br.Parent)
	}
	if br.State == blockStale {
		v.State = "stale"
	}
	for _, t := range br.Txs {
		v.Txs = append(v.Txs, showHash(r.model, t))
	}
	return v, nil
}

// BlocksAt returns the applied blocks at height: one, unless detached
// segments on competing branches overlap there.
func (s *Store) BlocksAt(ctx context.Context, chainID string, height int64) ([]*BlockView, error) {
	if height < 0 {
		return nil, fault.New(fault.Invalid, "chainstore: height %d", height)
	}
	r, err := s.reader(chainID)
	if err != nil {
		return nil, err
	}
	defer r.close()
	prefix := r.k.heightPrefix(height)
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*BlockView
	for ok := it.First(); ok; ok = it.Next() {
		var bh hash32
		copy(bh[:], it.Key()[len(prefix):])
		v, err := r.block(bh)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound("no block at height %d on %s", height, chainID)
	}
	return out, ctx.Err()
}

// Cursor returns the ingest cursor of source on chainID, or
// chain.ErrNotFound before the source's first block.
func (s *Store) Cursor(chainID, source string) (Cursor, error) {
	r, err := s.reader(chainID)
	if err != nil {
		return Cursor{}, err
	}
	defer r.close()
	var c cursorRec
	if err := r.get(r.k.cursor(source), func(p []byte) (err error) { c, err = decodeCursor(p); return err }); err != nil {
		return Cursor{}, wrapNotFound(err, "cursor of %q on %s", source, chainID)
	}
	return Cursor{Chain: chainID, Source: source, Height: c.Height, Hash: showHash(r.model, c.Hash), Time: time.Unix(c.Time, 0).UTC()}, nil
}

// Status reports what the index holds of chainID: its segments, the gaps
// between them, and block and transaction counts. A chain without blocks
// has an empty status.
func (s *Store) Status(chainID string) (*Status, error) {
	r, err := s.reader(chainID)
	if err != nil {
		return nil, err
	}
	defer r.close()
	st := &Status{Chain: chainID, Model: "utxo", Segments: []Segment{}}
	if r.model == modelAccount {
		st.Model = "account"
	}
	var sr stateRec
	err = r.get(r.k.state(), func(p []byte) (err error) { sr, err = decodeState(p); return err })
	if errors.Is(err, errNoRecord) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chainstore: state of %s: %w", chainID, err)
	}
	st.Blocks, st.Txs = sr.Blocks, sr.Txs
	prefix := r.k.fam(famSeg, 0)
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		seg, err := decodeSeg(it.Value())
		if err != nil || len(k) != len(prefix)+4 {
			return nil, fmt.Errorf("chainstore: segment of %s: %w", chainID, errCorrupt)
		}
		if seg.Blocks == 0 {
			continue
		}
		sg := Segment{
			ID:     binary.BigEndian.Uint32(k[len(prefix):]),
			Start:  BlockRef{Height: seg.StartHeight, Hash: showHash(r.model, seg.StartHash)},
			End:    BlockRef{Height: seg.tipHeight(), Hash: showHash(r.model, seg.Tip)},
			Blocks: seg.Blocks, Txs: seg.Txs,
		}
		if seg.StartParent != (hash32{}) {
			sg.Parent = showHash(r.model, seg.StartParent)
		}
		st.Segments = append(st.Segments, sg)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	sort.SliceStable(st.Segments, func(i, j int) bool {
		a, b := st.Segments[i].Start.Height, st.Segments[j].Start.Height
		if (a < 0) != (b < 0) {
			return b < 0
		}
		return a < b
	})
	covered := int64(-1) // highest height covered so far
	for i := range st.Segments {
		sg := &st.Segments[i]
		if sg.Start.Height < 0 {
			break
		}
		if i > 0 && sg.Start.Height > covered+1 {
			st.Gaps = append(st.Gaps, Gap{From: covered + 1, To: sg.Start.Height - 1})
		}
		if sg.End.Height > covered {
			covered = sg.End.Height
			st.Tip = &BlockRef{Height: sg.End.Height, Hash: sg.End.Hash}
		}
	}
	if st.Tip == nil && len(st.Segments) > 0 {
		last := st.Segments[len(st.Segments)-1].End
		st.Tip = &last
	}
	return st, nil
}

// Received returns what address addr received in chainID's own coin:
// one point read, for callers that need only that (screening).
func (s *Store) Received(ctx context.Context, chainID, addr string) (*big.Int, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	model, err := modelOf(chainID)
	if err != nil {
		return nil, err
	}
	k := newKeys(chainID)
	var b balRec
	if err := s.getRec(s.db, k.bal(canonKey(model, addr), 0), func(p []byte) (err error) { b, err = decodeBal(p); return err }); err != nil {
		return nil, wrapNotFound(err, "%s received by %s", chain.NativeAsset(chainID), addr)
	}
	return b.Received.Big(), ctx.Err()
}
