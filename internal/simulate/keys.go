package simulate

import (
	"math/rand/v2"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// keyBatch is how many keys share one random base scalar. Within a batch,
// key j has the private scalar base+j: one point addition and a share of
// one field inversion instead of a scalar multiplication each, so a key
// costs about a microsecond instead of twenty. Consecutive scalars would be
// a disaster for real money; these keys never sign anything.
const keyBatch = 1024

// keyGen derives public keys from a seeded ChaCha8 stream, in order: the
// n-th key is the same for a seed whatever else the generator does.
type keyGen struct {
	rng  *rand.Rand
	g    secp256k1.JacobianPoint // the generator, affine
	pubs [][33]byte              // the current batch, compressed
	next int                     // the next unused key of pubs
	// base is the scalar of the current batch's first key, for tests.
	base secp256k1.ModNScalar
}

func newKeyGen(seed [32]byte) *keyGen {
	k := &keyGen{rng: rand.New(rand.NewChaCha8(seed))}
	var one secp256k1.ModNScalar
	one.SetInt(1)
	secp256k1.ScalarBaseMultNonConst(&one, &k.g)
	k.g.ToAffine()
	return k
}

// pub returns the next compressed public key.
func (k *keyGen) pub() [33]byte {
	if k.next == len(k.pubs) {
		k.fill()
	}
	p := k.pubs[k.next]
	k.next++
	return p
}

// fill computes the next batch: P_0 = base*G, P_j = P_(j-1) + G, and
// converts them to affine coordinates with one inversion (Montgomery's
// trick: invert the product of every Z, then peel the factors off).
func (k *keyGen) fill() {
	var raw [32]byte
	for {
		for i := 0; i < 32; i += 8 {
			v := k.rng.Uint64()
			for j := range 8 {
				raw[i+j] = byte(v >> (8 * j))
			}
		}
		overflow := k.base.SetBytes(&raw)
		if overflow == 0 && !k.base.IsZero() {
			break
		}
	}
	pts := make([]secp256k1.JacobianPoint, keyBatch)
	secp256k1.ScalarBaseMultNonConst(&k.base, &pts[0])
	for j := 1; j < keyBatch; j++ {
		secp256k1.AddNonConst(&pts[j-1], &k.g, &pts[j])
	}
	// prefix[j] = Z_0 * ... * Z_j
	prefix := make([]secp256k1.FieldVal, keyBatch)
	prefix[0].Set(&pts[0].Z)
	for j := 1; j < keyBatch; j++ {
		prefix[j].Mul2(&prefix[j-1], &pts[j].Z)
	}
	var inv secp256k1.FieldVal
	inv.Set(&prefix[keyBatch-1]).Inverse() // (Z_0 * ... * Z_n-1)^-1
	if len(k.pubs) != keyBatch {
		k.pubs = make([][33]byte, keyBatch)
	}
	var zinv, z2, x, y secp256k1.FieldVal
	for j := keyBatch - 1; j >= 0; j-- {
		if j > 0 {
			zinv.Mul2(&inv, &prefix[j-1]) // Z_j^-1
			inv.Mul(&pts[j].Z)            // (Z_0 * ... * Z_j-1)^-1
		} else {
			zinv.Set(&inv)
		}
		z2.SquareVal(&zinv)
		x.Mul2(&pts[j].X, &z2).Normalize()
		y.Mul2(&pts[j].Y, z2.Mul(&zinv)).Normalize()
		out := &k.pubs[j]
		out[0] = 0x02
		if y.IsOdd() {
			out[0] = 0x03
		}
		x.PutBytesUnchecked(out[1:])
	}
	k.next = 0
}

// hash160 is RIPEMD160(SHA256(b)), the hash P2PKH and P2WPKH commit to.
func hash160(b []byte) (h [20]byte) {
	copy(h[:], btcutil.Hash160(b))
	return h
}
