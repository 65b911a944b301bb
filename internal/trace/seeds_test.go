package trace

import (
	"errors"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

func TestParseFrom(t *testing.T) {
	const tx = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	for _, tc := range []struct {
		chain string
		from  []string
		want  []Seed
		err   string
	}{
		{"bitcoin", []string{tx + ":1", " " + tx + " "}, []Seed{{Kind: SeedOutput, Output: tx + ":1"}, {Kind: SeedTx, Tx: tx}}, ""},
		{"ethereum", []string{"0x" + tx}, []Seed{{Kind: SeedTx, Tx: "0x" + tx}}, ""},
		{"nochain", []string{tx}, nil, "not a chain"},
		{"bitcoin", []string{""}, nil, "empty seed"},
		{"bitcoin", []string{tx + ":x"}, nil, ""},
		{"bitcoin", []string{"abcd:0"}, nil, "32 bytes of hex"},
		{"bitcoin", []string{"zz"}, nil, "not a transaction hash"},
	} {
		got, err := ParseFrom(tc.chain, tc.from, nil, "")
		if tc.want == nil {
			if err == nil || fault.CodeOf(err) != fault.Malformed || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseFrom(%s, %q): %v, want a malformed error mentioning %q", tc.chain, tc.from, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("ParseFrom(%s, %q): %v, %v", tc.chain, tc.from, got, err)
		}
		for i := range got {
			if got[i].Kind != tc.want[i].Kind || got[i].Output != tc.want[i].Output || got[i].Tx != tc.want[i].Tx {
				t.Errorf("seed %d: %+v, want %+v", i, got[i], tc.want[i])
			}
		}
	}
}

// FuzzParseFrom: any list of seeds parses or fails with a malformed
// error; what parses names a 32-byte hash, with an output index on UTXO
// chains when it says TXID:VOUT.
func FuzzParseFrom(f *testing.F) {
	f.Add("bitcoin", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0")
	f.Add("ethereum", "0xf4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16,")
	f.Add("bitcoin", ":,::,0x")
	f.Fuzz(func(t *testing.T, chainID, list string) {
		seeds, err := ParseFrom(chainID, strings.Split(list, ","), nil, "")
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || fault.CodeOf(err) != fault.Malformed {
				t.Fatalf("error %v is not malformed input", err)
			}
			return
		}
		for _, s := range seeds {
			switch s.Kind {
			case SeedOutput:
				op, err := chain.ParseOutpoint(s.Output)
				if err != nil || !isHash(op.Tx) {
					t.Errorf("accepted output %q", s.Output)
				}
			case SeedTx:
				if !isHash(s.Tx) {
					t.Errorf("accepted transaction %q", s.Tx)
				}
			default:
				t.Errorf("seed kind %v", s.Kind)
			}
		}
	})
}
