package ingest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/ingest"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

// frames returns the first n frames of a blk file, and the offset of
// frame n.
func frames(t *testing.T, data []byte, n int) ([]byte, int) {
	t.Helper()
	off := 0
	for range n {
		size := int(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8 + size
	}
	return data[:off], off
}

// TestFromFiles ingests btcd's mainnet blocks 0 to 14131 and the shared
// real blocks (isolated, so each starts a segment of its own; blocks 1 to
// 255 again, which are no-ops), reads them all a second time without a
// change, and checks the progress reports.
func TestFromFiles(t *testing.T) {
	files := []string{btcdtest.Testdata(t, "blk_0_to_14131.dat")}
	files = append(files, sharedtest.Glob(t, "bitcoin/block*")...)
	if len(files) != 4 {
		t.Fatalf("files: %v", files)
	}
	ctx := context.Background()
	s := openStore(t)
	var last ingest.Progress
	calls := 0
	opts := ingest.Options{Group: 500, Progress: func(p ingest.Progress) { last = p; calls++ }}
	if err := ingest.FromFiles(ctx, s, bitcoin.Mainnet, files, opts); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status("bitcoin")
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 14134 || len(st.Segments) != 3 || st.Tip.Height != 413567 {
		t.Fatalf("status: %+v", st)
	}
	// 14132 blocks in groups of 500 make 29 reports; then one for each
	// shared file.
	if calls != 32 || last.Tip != -1 || last.Blocks != 14132+255+2 {
		t.Errorf("progress: %d reports, last %+v", calls, last)
	}
	if err := ingest.FromFiles(ctx, s, bitcoin.Mainnet, files, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	again, err := s.Status("bitcoin")
	if err != nil {
		t.Fatal(err)
	}
	if again.Blocks != st.Blocks || again.Txs != st.Txs || len(again.Segments) != 3 {
		t.Errorf("a second read changed the index: %+v, was %+v", again, st)
	}
	v, err := s.Tx(ctx, "bitcoin", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
	if err != nil {
		t.Fatal(err)
	}
	if v.Height != 170 || len(v.Inputs) != 1 || !v.Inputs[0].Known || v.Inputs[0].Value != 50e8 || len(v.Outputs) != 2 || v.Outputs[0].Value != 10e8 || v.Outputs[1].Value != 40e8 {
		t.Errorf("block 170's transaction: %+v", v)
	}
}

// TestFromFilesBadInput cuts and corrupts a blk file: the ingest fails
// with an error naming the file and the offset of the bad block, every
// block before it is applied and none after, and the good file read again
// completes the index.
func TestFromFilesBadInput(t *testing.T) {
	data, err := os.ReadFile(btcdtest.Testdata(t, "blk_0_to_14131.dat"))
	if err != nil {
		t.Fatal(err)
	}
	good, off := frames(t, data, 300)
	size := int(binary.LittleEndian.Uint32(data[off+4:]))
	next := data[off : off+8+size]

	flipped := bytes.Clone(next)
	flipped[8+80+10] ^= 0xff // a byte of the coinbase: the merkle root no longer matches

	cases := []struct {
		name    string
		tail    []byte
		mention string
	}{
		{"truncated frame", next[:6], "truncated"},
		{"truncated block", next[:8+81], "truncated"},
		{"bad merkle root", flipped, "merkle"},
		{"other magic", append([]byte{0x0b, 0x11, 0x09, 0x07}, next[4:]...), "magic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "blk00000.dat")
			if err := os.WriteFile(path, append(bytes.Clone(good), c.tail...), 0o600); err != nil {
				t.Fatal(err)
			}
			s := openStore(t)
			err := ingest.FromFiles(context.Background(), s, bitcoin.Mainnet, []string{path}, ingest.Options{Group: 64})
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range []string{path, "offset", c.mention} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			st, err := s.Status("bitcoin")
			if err != nil {
				t.Fatal(err)
			}
			if st.Blocks != 300 || st.Tip.Height != 299 {
				t.Errorf("after the bad block: %d blocks, tip %+v", st.Blocks, st.Tip)
			}
			full := filepath.Join(t.TempDir(), "blk00000.dat")
			if err := os.WriteFile(full, append(bytes.Clone(good), next...), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := ingest.FromFiles(context.Background(), s, bitcoin.Mainnet, []string{full}, ingest.Options{}); err != nil {
				t.Fatal(err)
			}
			if st, err := s.Status("bitcoin"); err != nil || st.Blocks != 301 {
				t.Errorf("after the good file: %+v, %v", st, err)
			}
		})
	}
}

// TestFromFilesCancel stops an ingest through its context: the error says
// so and what was applied stays consistent.
func TestFromFilesCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := openStore(t)
	opts := ingest.Options{Group: 100, Progress: func(p ingest.Progress) {
		if p.Blocks >= 1000 {
			cancel()
		}
	}}
	err := ingest.FromFiles(ctx, s, bitcoin.Mainnet, []string{btcdtest.Testdata(t, "blk_0_to_14131.dat")}, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	st, err := s.Status("bitcoin")
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks < 1000 || st.Tip.Height != int64(st.Blocks)-1 || len(st.Segments) != 1 {
		t.Errorf("after the cancel: %+v", st)
	}
}
