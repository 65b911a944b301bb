package simulate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cointrail/cointrail/internal/simulate"
)

// Generate writes a scenario of a thousand transactions; its truth
// balances to the satoshi.
func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "simulate-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	s, err := simulate.Generate(context.Background(), filepath.Join(dir, "scenario"), simulate.Options{Seed: 42, Txs: 1000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d transactions in %d blocks\n", s.Txs, s.Blocks)
	for _, f := range s.Files {
		fmt.Println(filepath.Base(f))
	}
	t := s.Truth
	var received simulate.Sat
	for _, e := range t.Exchanges {
		received += e.Received
	}
	fmt.Println("balanced:", t.Stolen == received+t.FeesPaid+t.Elsewhere+t.Unspent)
	// Output:
	// 1000 transactions in 144 blocks
	// blocks.dat
	// tagpack.yaml
	// incident.json
	// truth.json
	// balanced: true
}
