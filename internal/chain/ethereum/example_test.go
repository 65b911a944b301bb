package ethereum_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cointrail/cointrail/internal/chain/ethereum"
)

// A block of 2016 with one payment of 1 ETH at 20 gwei: the payment, the
// fee to the miner, and the 5 ETH block reward.
func ExampleAssemble() {
	block := `{"number":"0x1ac9f3","timestamp":"0x576b99fa","difficulty":"0x30290ce4811d",
		"hash":"0x1dec87ec1ba8e65b7773bb6f62249468948a28a427efd3d896a2ff7d7c591a67",
		"parentHash":"0xa06fc36a7144c4bbb1f7ab13b541144414fa7808c119e8a4635e392ea544c178",
		"miner":"0xa027231f42c80ca4125b5cb962a21cd4f812e88f","uncles":[],
		"transactions":[{"hash":"0x9a5437ec71b74ecf5930b406908ac6999966d38a86d1534b7190ece7599095eb",
			"from":"0x3763e6e1228bfeab94191c856412d1bb0a8e6996","to":"0xec1ebac9da3430213281c80fa6d46378341a96ae",
			"nonce":"0xea1","value":"0xde0b6b3a7640000","gas":"0x15f90","gasPrice":"0x4a817c800"}]}`
	receipts := `[{"transactionHash":"0x9a5437ec71b74ecf5930b406908ac6999966d38a86d1534b7190ece7599095eb",
		"blockHash":"0x1dec87ec1ba8e65b7773bb6f62249468948a28a427efd3d896a2ff7d7c591a67",
		"root":"0x379f143510d5703cf162e37e61d906341b4a6acf4f339d422c656000ccd5898f","gasUsed":"0x5208","logs":[]}]`

	b, err := ethereum.Assemble("ethereum", ethereum.MainnetRules(), ethereum.BlockData{
		Block: []byte(block), Receipts: []byte(receipts),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, tx := range b.Txs {
		for _, t := range tx.Transfers {
			fmt.Println(t.Kind, t.From, "->", t.To, t.Amount, t.Asset)
		}
	}
	fmt.Println("internal transfers known:", b.Traced)
	// Output:
	// native 0x3763e6e1228bfeab94191c856412d1bb0a8e6996 -> 0xec1ebac9da3430213281c80fa6d46378341a96ae 1000000000000000000 ethereum:ETH
	// fee 0x3763e6e1228bfeab94191c856412d1bb0a8e6996 -> 0xa027231f42c80ca4125b5cb962a21cd4f812e88f 420000000000000 ethereum:ETH
	// reward mint -> 0xa027231f42c80ca4125b5cb962a21cd4f812e88f 5000000000000000000 ethereum:ETH
	// internal transfers known: false
}

func ExampleRPC_Tip() {
	// A stand-in for a node's JSON-RPC endpoint.
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := strings.SplitN(strings.SplitN(string(body), `"id":`, 2)[1], ",", 2)[0]
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":"0x1312d00"}`, id)
	}))
	defer node.Close()

	src, err := ethereum.NewRPC(node.URL, "ethereum", ethereum.RPCOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	tip, err := src.Tip(context.Background())
	fmt.Println(src.Chain(), tip, err)
	// Output: ethereum 20000000 <nil>
}
