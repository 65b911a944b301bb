package bitcoin

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/fault"
)

// frameHeaderSize is the size of a blk*.dat frame header: the network's
// 4-byte magic and the block's 4-byte little-endian length.
const frameHeaderSize = 8

// IsFramed reports whether head, the first bytes of a block file, starts
// with the blk*.dat frame of one of the networks (its magic), or with four
// zero bytes (a pre-allocated blk file with no blocks yet). An unframed
// file starts with a block header instead: a version, then the parent
// hash. A head shorter than 4 bytes is not framed.
func IsFramed(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	m := binary.LittleEndian.Uint32(head)
	if m == 0 {
		return true
	}
	_, ok := networkOfMagic(wire.BitcoinNet(m))
	return ok
}

// ReadBlocks reads the blocks of a block file of network net and calls fn
// with each block's serialization and its offset (of the block's first
// byte) in r, in file order. fn may keep raw. It does not decode the
// blocks: pass raw to [DecodeBlock].
//
// The format is detected from the first four bytes (see [IsFramed]):
//
//   - blk*.dat framing, as Bitcoin Core and btcd write it: frames of the
//     network's magic, the block's length (little-endian uint32) and the
//     block. A frame whose magic is zero ends the file: Bitcoin Core
//     pre-allocates blk files with zeros, and what follows is not read. A
//     frame with another non-zero magic (another network's, or garbage) is
//     an error naming the magic and the offset.
//   - unframed blocks (a block exactly as serialized, as in Bitcoin Core's
//     block413567.raw), one after another to the end of the file.
//
// A frame or block cut short is an error wrapping [ErrTruncated] that names
// its offset; fn is not called for it. The first error fn returns stops the
// reading and is returned, wrapped with the block's offset.
func ReadBlocks(r io.Reader, net Network, fn func(raw []byte, offset int64) error) error {
	if !net.valid() {
		return fault.New(fault.Malformed, "bitcoin: read blocks: invalid network %v", net)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(4)
	if len(head) == 0 && errors.Is(err, io.EOF) {
		return nil // an empty file holds no blocks
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("bitcoin: read block file: %w", err)
	}
	if len(head) < 4 || !IsFramed(head) {
		if allZero(head) {
			return nil
		}
		return readUnframed(br, fn)
	}
	return readFramed(br, net, fn)
}

// readFramed reads blk*.dat frames.
func readFramed(br *bufio.Reader, net Network, fn func([]byte, int64) error) error {
	var (
		off int64
		hdr [frameHeaderSize]byte
	)
	for {
		n, err := io.ReadFull(br, hdr[:])
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("bitcoin: read block file at offset %d: %w", off, err)
		}
		if n < 4 && allZero(hdr[:n]) {
			return nil // the end, or a zero tail shorter than a magic
		}
		magic := wire.BitcoinNet(binary.LittleEndian.Uint32(hdr[:4]))
		if n >= 4 && magic == 0 {
			return nil // pre-allocated zeros: the end of the blocks
		}
		if n >= 4 && magic != net.Magic() {
			return fault.New(fault.Malformed, "bitcoin: block file: frame at offset %d has magic %s, want %s", off, magicString(magic), magicString(net.Magic()))
		}
		if n < frameHeaderSize {
			return fault.Wrap(fault.Malformed, ErrTruncated, "bitcoin: block file: frame header at offset %d cut after %d of %d bytes", off, n, frameHeaderSize)
		}
		size := binary.LittleEndian.Uint32(hdr[4:])
		if size < wire.MaxBlockHeaderPayload || size > wire.MaxBlockPayload {
			return fault.New(fault.Malformed, "bitcoin: block file: frame at offset %d has a block length of %d bytes (want %d to %d)",
				off, size, wire.MaxBlockHeaderPayload, wire.MaxBlockPayload)
		}
		raw, err := readN(br, int(size))
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return fault.Wrap(fault.Malformed, ErrTruncated, "bitcoin: block file: block at offset %d cut after %d of its %d bytes", off+frameHeaderSize, len(raw), size)
			}
			return fmt.Errorf("bitcoin: read block file at offset %d: %w", off+frameHeaderSize, err)
		}
		if err := fn(raw, off+frameHeaderSize); err != nil {
			return fmt.Errorf("block at offset %d: %w", off+frameHeaderSize, err)
		}
		off += frameHeaderSize + int64(size)
	}
}

// readN reads exactly n bytes, growing the buffer as the data arrives so
// that a length field larger than the file does not allocate it all up
// front. On a short read it returns what it read with the error.
func readN(r io.Reader, n int) ([]byte, error) {
	const chunk = 1 << 20
	buf := make([]byte, 0, min(n, chunk))
	for len(buf) < n {
		want := min(n-len(buf), chunk)
		buf = slices.Grow(buf, want)
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+want])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// readUnframed reads blocks serialized back to back, without frames.
func readUnframed(br *bufio.Reader, fn func([]byte, int64) error) error {
	var off int64
	for {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return nil
		}
		var rec recorder
		rec.r = br
		var mb wire.MsgBlock
		if err := mb.Deserialize(&rec); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return fault.Wrap(fault.Malformed, ErrTruncated, "bitcoin: block file: unframed block at offset %d cut after %d bytes", off, rec.buf.Len())
			}
			if rec.err != nil {
				return fmt.Errorf("bitcoin: read block file at offset %d: %w", off, rec.err)
			}
			return fault.Wrap(fault.Malformed, err, "bitcoin: block file: unframed block at offset %d", off)
		}
		raw := rec.buf.Bytes()
		if err := fn(raw, off); err != nil {
			return fmt.Errorf("block at offset %d: %w", off, err)
		}
		off += int64(len(raw))
	}
}

// recorder keeps every byte read through it.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
	err error // the last read error other than EOF
}

func (rec *recorder) Read(p []byte) (int, error) {
	n, err := rec.r.Read(p)
	rec.buf.Write(p[:n])
	if err != nil && !errors.Is(err, io.EOF) {
		rec.err = err
	}
	return n, err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// magicString shows a magic as its bytes appear on disk, with the network
// it belongs to if any: "0b110907 (testnet)".
func magicString(m wire.BitcoinNet) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(m))
	s := fmt.Sprintf("%x", b)
	if n, ok := networkOfMagic(m); ok {
		s += " (" + n.String() + ")"
	}
	return s
}
