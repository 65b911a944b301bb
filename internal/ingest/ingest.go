// Package ingest brings blocks from a source (a node over JSON-RPC, block
// files) into the chain index: in order, resumable from the index's cursor,
// following the source's reorgs, and, when asked, keeping up with its tip.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/fault"
)

// Index is the chain index ingest writes to.
type Index interface {
	ApplyFrom(ctx context.Context, source string, blocks ...*chain.Block) error
	Cursor(chainID, source string) (chainstore.Cursor, error)
	Block(ctx context.Context, chainID, hash string) (*chainstore.BlockView, error)
}

// Progress is reported after every group of blocks.
type Progress struct {
	Chain  string
	Height int64 // the last block applied
	Tip    int64 // the source's tip (-1 for block files)
	Blocks int64 // blocks applied so far
	Txs    int64 // transactions applied so far
	// Elapsed is the time since the ingest started.
	Elapsed time.Duration
}

// Options configure an ingest. The zero value is valid.
type Options struct {
	// Logger receives what happens. Default: discard.
	Logger *slog.Logger
	// Progress, if set, is called after each group of blocks.
	Progress func(Progress)
	// Group is how many blocks are applied in one batch. Default: 64
	// from a node, 1,024 (or 20,000 transactions) from block files.
	Group int
	// Prefetch is how many blocks are fetched ahead of the one applied.
	// Default: 8.
	Prefetch int
	// Interval is how often a follower asks the source for a new tip.
	// Default: 5s.
	Interval time.Duration
}

func (o *Options) ensureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Group <= 0 {
		o.Group = 64
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 8
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
}

// FromSource applies src's blocks from height from (or, when from is
// negative, from the block after the index's cursor for source name, or
// from 0) up to height to (negative: the source's tip). With follow, it
// then keeps up with the source's tip until ctx ends. A block whose parent
// is not the block the index holds below it means the source reorganised:
// ingest walks back to the last block both agree on and applies the
// source's branch from there.
func FromSource(ctx context.Context, idx Index, src chain.Source, name string, from, to int64, follow bool, opts Options) error {
	opts.ensureDefaults()
	next := from
	// anchored: the index holds this source's blocks, so every block must
	// follow one it holds. A first ingest from a height above 0 starts a
	// segment of its own instead.
	cur, err := idx.Cursor(src.Chain(), name)
	anchored := err == nil
	switch {
	case err != nil && !errors.Is(err, chain.ErrNotFound):
		return err
	case next < 0 && anchored:
		next = cur.Height + 1
	case next < 0:
		next = 0
	}
	start := time.Now()
	var blocks, txs int64
	for {
		tip, err := src.Tip(ctx)
		if err != nil {
			return fmt.Errorf("tip of %s: %w", src.Chain(), err)
		}
		last := tip
		if to >= 0 && to < last {
			last = to
		}
		for next <= last {
			group, err := fetch(ctx, src, next, min(last, next+int64(opts.Group)-1), opts.Prefetch)
			if err != nil {
				return err
			}
			applied, err := applyGroup(ctx, idx, src, name, group, anchored)
			if err != nil {
				return err
			}
			anchored = anchored || applied > 0
			if applied < len(group) {
				// The source reorganised under us: resume below the fork.
				fork, err := forkPoint(ctx, idx, src, group[applied].Height-1)
				if err != nil {
					return err
				}
				opts.Logger.InfoContext(ctx, "source reorganised", "chain", src.Chain(), "fork", fork)
				next = fork + 1
				continue
			}
			for _, b := range group {
				txs += int64(len(b.Txs))
			}
			blocks += int64(len(group))
			next = group[len(group)-1].Height + 1
			if opts.Progress != nil {
				opts.Progress(Progress{Chain: src.Chain(), Height: next - 1, Tip: tip, Blocks: blocks, Txs: txs, Elapsed: time.Since(start)})
			}
		}
		if !follow || (to >= 0 && next > to) {
			return nil
		}
		timer := time.NewTimer(opts.Interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// fetch gets blocks first..last, up to prefetch of them at once.
func fetch(ctx context.Context, src chain.Source, first, last int64, prefetch int) ([]*chain.Block, error) {
	n := int(last - first + 1)
	out := make([]*chain.Block, n)
	errs := make([]error, n)
	sem := make(chan struct{}, prefetch)
	done := make(chan struct{})
	remaining := n
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() {
				<-sem
				done <- struct{}{}
			}()
			out[i], errs[i] = src.BlockAt(ctx, first+int64(i))
		}()
	}
	for range remaining {
		<-done
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("block %d of %s: %w", first+int64(i), src.Chain(), err)
		}
	}
	return out, nil
}

// applyGroup applies blocks that follow one another and the index's block
// below the first. It returns how many it applied before one whose parent
// the index does not hold where it should (a reorg at the source).
func applyGroup(ctx context.Context, idx Index, src chain.Source, name string, blocks []*chain.Block, anchored bool) (int, error) {
	consistent := 0
	for i, b := range blocks {
		if i > 0 && b.Parent != blocks[i-1].Hash {
			break
		}
		if i == 0 && b.Height > 0 && anchored {
			pv, err := idx.Block(ctx, src.Chain(), b.Parent)
			if err != nil || pv.State != "applied" {
				break
			}
		}
		consistent = i + 1
	}
	if consistent == 0 {
		return 0, nil
	}
	if err := idx.ApplyFrom(ctx, name, blocks[:consistent]...); err != nil {
		if errors.Is(err, chainstore.ErrStaleParent) {
			return 0, nil
		}
		return 0, err
	}
	return consistent, nil
}

// forkPoint walks the source back from height until it finds a block the
// index holds as applied: the last block both agree on (-1: none).
func forkPoint(ctx context.Context, idx Index, src chain.Source, height int64) (int64, error) {
	for h := height; h >= 0; h-- {
		b, err := src.BlockAt(ctx, h)
		if err != nil {
			return 0, fmt.Errorf("block %d of %s: %w", h, src.Chain(), err)
		}
		v, err := idx.Block(ctx, src.Chain(), b.Hash)
		if err == nil && v.State == "applied" {
			return h, nil
		}
		if err != nil && !errors.Is(err, chain.ErrNotFound) {
			return 0, err
		}
	}
	return -1, nil
}

// FromFiles applies the blocks of Bitcoin block files (blk*.dat framing,
// or single unframed blocks) in file order, each group in one batch. A
// block already applied is a no-op, so a file can be read again after an
// interruption. A truncated or corrupt block stops the ingest with an
// error naming the file and offset; the blocks before it stay applied.
func FromFiles(ctx context.Context, idx Index, net bitcoin.Network, files []string, opts Options) error {
	if opts.Group <= 0 {
		opts.Group = 1024
	}
	opts.ensureDefaults()
	c := counter{start: time.Now()}
	for _, name := range files {
		if err := fromFile(ctx, idx, net, name, opts, &c); err != nil {
			return err
		}
	}
	return nil
}

// counter counts what an ingest from files applied, for its progress.
type counter struct {
	start       time.Time
	blocks, txs int64
}

// fileGroupTxs bounds the transactions of a group of blocks read from a
// file, so that a group of large blocks stays one batch of the index.
const fileGroupTxs = 20_000

// fromFile applies the blocks of one file. A goroutine reads and decodes
// (merkle roots, scripts to addresses) while this one applies the group
// before: on a machine with two cores or more, decoding costs no time.
func fromFile(ctx context.Context, idx Index, net bitcoin.Network, name string, opts Options, c *counter) error {
	f, err := os.Open(name)
	if err != nil {
		return fault.Wrap(fault.Invalid, err, "block file: %v", err)
	}
	defer f.Close()

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	groups := make(chan []*chain.Block, 2)
	var readErr error // set before groups is closed
	go func() {
		defer close(groups)
		send := func(g []*chain.Block) error {
			select {
			case groups <- g:
				return nil
			case <-rctx.Done():
				return rctx.Err()
			}
		}
		var group []*chain.Block
		txs := 0
		readErr = bitcoin.ReadBlocks(f, net, func(raw []byte, offset int64) error {
			if err := rctx.Err(); err != nil {
				return err
			}
			b, err := bitcoin.DecodeBlock(net, raw)
			if err != nil {
				return err
			}
			group = append(group, b)
			txs += len(b.Txs)
			if len(group) >= opts.Group || txs >= fileGroupTxs {
				g := group
				group, txs = nil, 0
				return send(g)
			}
			return nil
		})
		// The blocks decoded before a bad one are good: they are applied,
		// so that the index stops right before the bad block.
		if len(group) > 0 && rctx.Err() == nil {
			_ = send(group)
		}
	}()

	for group := range groups {
		if err := idx.ApplyFrom(ctx, "file", group...); err != nil {
			cancel()
			for range groups {
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, b := range group {
			c.txs += int64(len(b.Txs))
		}
		c.blocks += int64(len(group))
		if opts.Progress != nil {
			opts.Progress(Progress{Chain: net.Chain(), Height: group[len(group)-1].Height, Tip: -1, Blocks: c.blocks, Txs: c.txs, Elapsed: time.Since(c.start)})
		}
	}
	switch {
	case readErr == nil:
		return nil
	case errors.Is(readErr, context.Canceled), errors.Is(readErr, context.DeadlineExceeded):
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return readErr
	default:
		return fault.Wrap(fault.Invalid, readErr, "%s: %v", name, readErr)
	}
}
