// Package sharedtest finds the shared public data set (real OFAC rows,
// TagPacks, STIX examples, Bitcoin blocks, RPC responses) that tests read.
//
// The data lives beside the repository, never in it. A fresh clone does not
// have it: tests that need it are skipped, except under CI=true, where its
// absence is a failure.
package sharedtest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the shared folder: $COINTRAIL_SHARED, or "shared" beside the
// repository root. When it is missing the test is skipped, or fails under
// CI=true.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("COINTRAIL_SHARED")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		// file is <repo>/internal/sharedtest/sharedtest.go.
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
	}
	if st, err := os.Stat(filepath.Join(dir, "data")); err != nil || !st.IsDir() {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared data not found at %s (set COINTRAIL_SHARED); it is required under CI=true", dir)
		}
		tb.Skipf("shared data not found at %s (set COINTRAIL_SHARED to run this test)", dir)
	}
	return dir
}

// Path returns the path of a file under the shared data folder, skipping or
// failing as [Dir] does when the folder is missing, and failing when the
// file is.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb), "data"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared data file missing: %v", err)
	}
	return p
}

// Glob returns the shared data files matching pattern (relative to the data
// folder), failing the test if there are none.
func Glob(tb testing.TB, pattern string) []string {
	tb.Helper()
	matches, err := filepath.Glob(filepath.Join(Dir(tb), "data", pattern))
	if err != nil || len(matches) == 0 {
		tb.Fatalf("no shared data files match %s", pattern)
	}
	return matches
}
