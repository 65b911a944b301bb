package ethereum

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
)

// sharedSeeds returns the shared RPC files matching pattern, or none when
// the shared data is absent: fuzz targets run without it, on their own
// seeds.
func sharedSeeds(tb testing.TB, pattern string) [][]byte {
	dir := os.Getenv("COINTRAIL_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared")
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "data", "ethereum", "rpc", pattern))
	var out [][]byte
	for _, p := range paths {
		out = append(out, sharedResult(tb, p))
	}
	return out
}

var canonicalAddress = regexp.MustCompile(`^0x[0-9a-f]{40}$`)

// checkBlock checks what must hold of any block Assemble returns.
func checkBlock(t *testing.T, b *Block) {
	t.Helper()
	if b.Height < 0 {
		t.Errorf("height %d", b.Height)
	}
	if b.Traced && b.TraceError != nil || !b.Traced && b.TraceError == nil {
		t.Errorf("traced %v with trace error %v", b.Traced, b.TraceError)
	}
	for _, tx := range b.Txs {
		if tx.Failed && tx.FailureUnknown {
			t.Errorf("%s: failed and failure unknown", tx.Hash)
		}
		for _, tr := range tx.Transfers {
			if tr.Amount == nil || tr.Amount.Sign() < 0 {
				t.Errorf("%s: amount %v", tx.Hash, tr.Amount)
			}
			if tr.Amount.Sign() == 0 && tr.Kind != chain.Token {
				t.Errorf("%s: zero %s transfer", tx.Hash, tr.Kind)
			}
			for _, a := range []string{tr.From, tr.To} {
				if !canonicalAddress.MatchString(a) && a != chain.BurnAddress && a != chain.RewardSource {
					t.Errorf("%s: address %q", tx.Hash, a)
				}
			}
			if (tr.Kind == chain.NFT) != (tr.TokenID != nil) {
				t.Errorf("%s: %s transfer with token id %v", tx.Hash, tr.Kind, tr.TokenID)
			}
			if tx.Failed && tr.Kind != chain.Fee && tr.Kind != chain.Burn {
				t.Errorf("%s: failed transaction moves %s", tx.Hash, tr.Kind)
			}
		}
	}
}

// wantDataError fails unless err is one of the errors bad data gives.
func wantDataError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInconsistent) {
		t.Fatalf("error of no known kind: %v", err)
	}
}

// FuzzDecodeBlockJSON feeds arbitrary eth_getBlockByNumber results, then
// assembles each block that decodes with receipts made to match it.
func FuzzDecodeBlockJSON(f *testing.F) {
	for _, seed := range sharedSeeds(f, "eth_getBlockByNumber_*.json") {
		f.Add(seed)
	}
	f.Add([]byte(`{"number":"0x10","hash":"0x` + repeat("b", 64) + `","parentHash":"0x` + repeat("a", 64) + `","timestamp":"0x1","miner":"0x` + repeat("f", 40) + `",
		"difficulty":"0x0","baseFeePerGas":"0x7","uncles":[],"withdrawals":[{"address":"0x` + repeat("3", 40) + `","amount":"0x5"}],
		"transactions":[{"hash":"0x` + repeat("1", 64) + `","from":"0x` + repeat("a", 40) + `","to":null,"nonce":"0x0","value":"0x5","gas":"0x5208","maxFeePerGas":"0x9","maxPriorityFeePerGas":"0x1"}]}`))
	f.Add([]byte(`{"number":"0x4c4b40","hash":"0x` + repeat("b", 64) + `","parentHash":"0x` + repeat("a", 64) + `","timestamp":"0x1","miner":"0x` + repeat("f", 40) + `",
		"difficulty":"0x10","uncles":["0x` + repeat("c", 64) + `"],"transactions":[]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"transactions":["0x00"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBlock(data)
		if err != nil {
			wantDataError(t, err)
			return
		}
		rs := make([]receipt, len(b.txs))
		for i, tx := range b.txs {
			rs[i] = receipt{txHash: tx.hash, blockHash: b.hash, status: 1, gasUsed: min(tx.gas, 21000)}
		}
		us := make([]uncle, len(b.uncles))
		for i, h := range b.uncles {
			us[i] = uncle{hash: h, number: b.number - 1, miner: b.miner}
		}
		out, err := assemble("ethereum", MainnetRules(), b, rs, nil, ErrNoDebugAPI, us)
		if err != nil {
			wantDataError(t, err)
			return
		}
		checkBlock(t, out)
	})
}

func repeat(s string, n int) string {
	out := make([]byte, 0, n*len(s))
	for range n {
		out = append(out, s...)
	}
	return string(out)
}

// fuzzBlock is a post-London block of two transactions, the second a
// contract creation, that the receipt and trace targets use.
func fuzzBlock() json.RawMessage {
	return json.RawMessage(`{"number":"0x10","hash":"0x` + repeat("b", 64) + `","parentHash":"0x` + repeat("a", 64) + `","timestamp":"0x1",
		"miner":"0x` + repeat("f", 40) + `","difficulty":"0x0","baseFeePerGas":"0x7","uncles":[],"transactions":[
		{"hash":"0x` + repeat("1", 64) + `","from":"0x` + repeat("a", 40) + `","to":"0x` + repeat("c", 40) + `","nonce":"0x0","value":"0x5","gas":"0x30000","gasPrice":"0x9"},
		{"hash":"0x` + repeat("2", 64) + `","from":"0x` + repeat("a", 40) + `","to":null,"nonce":"0x1","value":"0x6","gas":"0x30000","maxFeePerGas":"0x9","maxPriorityFeePerGas":"0x1"}]}`)
}

func fuzzReceipts() json.RawMessage {
	return json.RawMessage(`[
		{"transactionHash":"0x` + repeat("1", 64) + `","blockHash":"0x` + repeat("b", 64) + `","status":"0x1","gasUsed":"0x9000","effectiveGasPrice":"0x9",
		 "logs":[{"address":"0x` + repeat("7", 40) + `","topics":["` + TransferTopic + `","0x` + repeat("0", 24) + repeat("a", 40) + `","0x` + repeat("0", 24) + repeat("c", 40) + `"],"data":"0x` + repeat("0", 62) + `2a"},
		         {"address":"0x` + repeat("7", 40) + `","topics":["` + TransferTopic + `","0x` + repeat("0", 64) + `","0x` + repeat("0", 24) + repeat("c", 40) + `","0x` + repeat("0", 63) + `7"],"data":"0x"}]},
		{"transactionHash":"0x` + repeat("2", 64) + `","blockHash":"0x` + repeat("b", 64) + `","root":"0x` + repeat("d", 64) + `","gasUsed":"0x30000","contractAddress":"0x` + repeat("9", 40) + `",
		 "blobGasUsed":"0x20000","blobGasPrice":"0x1","logs":[]}]`)
}

// FuzzReceipts feeds arbitrary receipts to a fixed block.
func FuzzReceipts(f *testing.F) {
	f.Add([]byte(fuzzReceipts()))
	for _, seed := range sharedSeeds(f, "eth_getTransactionReceipt_*.json") {
		f.Add(append(append([]byte("["), seed...), ']'))
	}
	f.Add([]byte(`[{},{}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Assemble("ethereum", MainnetRules(), BlockData{Block: fuzzBlock(), Receipts: data})
		if err != nil {
			wantDataError(t, err)
			return
		}
		checkBlock(t, b)
	})
}

// FuzzCallTrace feeds arbitrary callTracer results to a fixed block.
func FuzzCallTrace(f *testing.F) {
	for _, seed := range sharedSeeds(f, "debug_traceBlockByNumber_*.json") {
		f.Add(seed)
	}
	f.Add([]byte(`[{"txHash":"0x` + repeat("1", 64) + `","result":{"type":"CALL","from":"0x` + repeat("a", 40) + `","to":"0x` + repeat("c", 40) + `","value":"0x5","calls":[
		{"type":"DELEGATECALL","from":"0x` + repeat("c", 40) + `","to":"0x` + repeat("d", 40) + `","calls":[{"type":"CALL","from":"0x` + repeat("c", 40) + `","to":"0x` + repeat("e", 40) + `","value":"0x3"}]},
		{"type":"CALL","from":"0x` + repeat("c", 40) + `","to":"0x` + repeat("e", 40) + `","value":"0x3","error":"execution reverted"},
		{"type":"SELFDESTRUCT"}]}},
		{"error":"execution timeout"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"result":{"type":"CREATE","error":"out of gas"}},{"result":{}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Assemble("ethereum", MainnetRules(), BlockData{Block: fuzzBlock(), Receipts: fuzzReceipts(), Traces: data})
		if err != nil {
			wantDataError(t, err)
			return
		}
		checkBlock(t, b)
	})
}
