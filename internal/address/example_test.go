package address_test

import (
	"fmt"

	"github.com/cointrail/cointrail/internal/address"
)

func ExampleCanonical() {
	for _, in := range []struct{ chain, addr string }{
		{"ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
		{"bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"},
		{"bitcoin", " 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n"},
		{"bitcoin-cash", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"},
		{"bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"},
	} {
		c, err := address.Canonical(in.chain, in.addr)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(c)
	}
	// Output:
	// 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed
	// bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4
	// 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
	// bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a
	// error: address: bitcoin address "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb": bad checksum: Base58Check checksum does not match
}

func ExampleDisplay() {
	d, err := address.Display("ethereum", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
	fmt.Println(d, err)
	// Output: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed <nil>
}
