package simulate

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// TestKeyGenMatchesBtcec checks the batched keys against btcec's own
// derivation from the private scalar base+j, across two batches.
func TestKeyGenMatchesBtcec(t *testing.T) {
	k := newKeyGen([32]byte{1, 2, 3})
	for batch := range 2 {
		first := k.pub()
		base := k.base
		for j := 0; j < keyBatch; j++ {
			var got [33]byte
			if j == 0 {
				got = first
			} else {
				got = k.pub()
			}
			if j%97 != 0 && j != keyBatch-1 && j != 1 {
				continue
			}
			var s, off secp256k1.ModNScalar
			off.SetInt(uint32(j))
			s.Add2(&base, &off)
			b := s.Bytes()
			_, pub := btcec.PrivKeyFromBytes(b[:])
			if want := pub.SerializeCompressed(); !bytes.Equal(got[:], want) {
				t.Fatalf("batch %d key %d: %x, want %x", batch, j, got, want)
			}
		}
	}
}

func BenchmarkKeyGen(b *testing.B) {
	k := newKeyGen([32]byte{9})
	for b.Loop() {
		p := k.pub()
		_ = hash160(p[:])
	}
}
