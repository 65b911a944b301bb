package gethtest

import (
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/tooltest"
)

func TestStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	n := Start(t)

	var chainID, balance string
	var version string
	n.MustCall(t, "eth_chainId", &chainID)
	n.MustCall(t, "eth_getBalance", &balance, n.Dev, "latest")
	n.MustCall(t, "web3_clientVersion", &version)
	if chainID != "0x539" || n.ChainID != 1337 {
		t.Errorf("chain id %s", chainID)
	}
	if b, ok := new(big.Int).SetString(strings.TrimPrefix(balance, "0x"), 16); !ok || b.Sign() <= 0 {
		t.Errorf("developer account %s balance %s", n.Dev, balance)
	}
	if !strings.HasPrefix(version, "Geth/v1.17.") {
		t.Errorf("client %s", version)
	}
	// The debug and dev APIs are served.
	var header string
	n.MustCall(t, "debug_getRawHeader", &header, "0x0")
	n.MustCall(t, "dev_setFeeRecipient", nil, n.Dev)

	// The binary is cached under the hash of tools/go.sum.
	root, err := tooltest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "tools", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(sum)
	cache, _ := os.UserCacheDir()
	if want := filepath.Join(cache, "cointrail-test", "geth-"+hex.EncodeToString(h[:8])); Binary(t) != want {
		t.Errorf("binary %s, want %s", Binary(t), want)
	}
}
