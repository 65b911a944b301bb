// Package tooltest builds the real nodes the tests run (btcd, geth) from
// the repository's tools module, which pins their versions: once, into the
// user's cache, so reruns do not rebuild and a change of a pinned version
// does.
package tooltest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// module is the main module's path, found in go.mod to locate the
// repository from a test's working directory.
const module = "github.com/cointrail/cointrail"

// Build returns the path of the binary of package pkg of the tools module,
// kept as <user cache>/cointrail-test/<name>-<hash of tools/go.sum>: built
// on first use with env added to the environment.
func Build(name, pkg string, env ...string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	tools := filepath.Join(root, "tools")
	sum, err := os.ReadFile(filepath.Join(tools, "go.sum"))
	if err != nil {
		return "", fmt.Errorf("read tools/go.sum: %w", err)
	}
	h := sha256.Sum256(sum)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "cointrail-test")
	path := filepath.Join(dir, name+"-"+hex.EncodeToString(h[:8]))
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make cache dir: %w", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goroot := os.Getenv("GOROOT")
		if goroot == "" {
			return "", fmt.Errorf("no go tool to build %s: %w", name, err)
		}
		goTool = filepath.Join(goroot, "bin", "go")
	}
	// Build next to the final path, then rename: test binaries of other
	// packages may be building at the same time, and a rename is atomic.
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	cmd := exec.Command(goTool, "-C", tools, "build", "-o", tmp, pkg)
	cmd.Env = append(append(os.Environ(), "GOWORK=off"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build %s (go -C %s build %s): %w\n%s", name, tools, pkg, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("cache %s: %w", name, err)
	}
	return path, nil
}

// RepoRoot walks up from the working directory (a test runs in its
// package's folder) to the directory whose go.mod declares the main
// module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == module {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod of module " + module + " above the working directory")
		}
		dir = up
	}
}

// modulePath returns the module path a go.mod declares.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
