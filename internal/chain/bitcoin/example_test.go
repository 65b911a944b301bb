package bitcoin_test

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointrail/cointrail/internal/chain/bitcoin"
)

// Decode the genesis block: its coinbase pays 50 BTC to a public key
// (P2PK), shown with the key's P2PKH address and filed under its script.
func ExampleDecodeBlock() {
	var raw bytes.Buffer
	if err := chaincfg.MainNetParams.GenesisBlock.Serialize(&raw); err != nil {
		panic(err)
	}
	b, err := bitcoin.DecodeBlock(bitcoin.Mainnet, raw.Bytes())
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Chain, b.Hash, b.Height)
	out := b.Txs[0].Outputs[0]
	fmt.Println(out.Kind, out.Value, out.Address)
	fmt.Println(out.Key[:15])
	// Output:
	// bitcoin 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f -1
	// p2pk 5000000000 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
	// script:3318537d
}

// Read a blk*.dat file: frames of magic, length and block, ended by the
// zeros Bitcoin Core pre-allocates.
func ExampleReadBlocks() {
	var block bytes.Buffer
	if err := chaincfg.RegressionNetParams.GenesisBlock.Serialize(&block); err != nil {
		panic(err)
	}
	var file []byte
	file = binary.LittleEndian.AppendUint32(file, uint32(bitcoin.Regtest.Magic()))
	file = binary.LittleEndian.AppendUint32(file, uint32(block.Len()))
	file = append(file, block.Bytes()...)
	file = append(file, make([]byte, 1024)...)

	err := bitcoin.ReadBlocks(bytes.NewReader(file), bitcoin.Regtest, func(raw []byte, offset int64) error {
		b, err := bitcoin.DecodeBlock(bitcoin.Regtest, raw)
		if err != nil {
			return err
		}
		fmt.Println(offset, b.Chain, b.Hash)
		return nil
	})
	fmt.Println(err)
	// Output:
	// 8 bitcoin-regtest 0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206
	// <nil>
}
