package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// CrashBundleSize is the number of records of one crash test bundle.
const CrashBundleSize = 50

// crashPrefix starts every line the crash child prints about a commit, and
// the Text of every record it stores.
const crashPrefix = "committed "

// CrashChild is the body of the child process of a crash test: it commits
// bundles of [CrashBundleSize] records, one Update each, whose Text carries
// the bundle's tag, and writes "committed <tag>" to w only after Update
// returned nil. It stops with ctx, after maxBundles, or on the first error
// (the parent kills it long before).
func CrashChild(ctx context.Context, st intel.Store, w io.Writer, maxBundles int) error {
	for b := range maxBundles {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		tag := fmt.Sprintf("bundle-%06d", b)
		err := st.Update(ctx, func(tx intel.Tx) error {
			for i := range CrashBundleSize {
				id := fmt.Sprintf("indicator--c0000000-%04d-4000-8000-%012d", i, b)
				r := newRecord(id, version(b%1000), orgA, stix.TLPGreen)
				r.Text = "crash " + tag + " item " + fmt.Sprint(i)
				r.Data = fmt.Appendf(nil, `{"id":%q,"pattern":"[cryptocurrency-wallet:value = '%s-%d']","padding":%q}`,
					id, tag, i, strings.Repeat("p", 200))
				if err := tx.Insert(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bundle %s: %w", tag, err)
		}
		if _, err := fmt.Fprintln(w, crashPrefix+tag); err != nil {
			return err
		}
	}
	return nil
}

// Crash is the parent side of a crash test. It starts child (the test
// binary run again as a process running [CrashChild]), reads the bundles it
// reports committed, kills it with SIGKILL once it has reported
// committedBefore of them (while it is inside the next Update, most
// likely), and then checks the database through reopen: every reported
// bundle is there whole, and no bundle is there in part.
func Crash(t *testing.T, child *exec.Cmd, committedBefore int, reopen func() (intel.Store, error)) {
	t.Helper()
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	reported := map[string]bool{}
	timeout := time.After(2 * time.Minute)
	for len(reported) < committedBefore {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = child.Wait()
				killed = true
				t.Fatalf("child stopped after %d bundles: %s", len(reported), stderr.String())
			}
			if tag, ok := strings.CutPrefix(line, crashPrefix); ok {
				reported[tag] = true
			}
		case <-timeout:
			t.Fatalf("child reported %d bundles in 2 minutes: %s", len(reported), stderr.String())
		}
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	// Bundles reported between the count and the kill count too.
	for line := range lines {
		if tag, ok := strings.CutPrefix(line, crashPrefix); ok {
			reported[tag] = true
		}
	}
	_ = child.Wait()
	killed = true
	if state := child.ProcessState; state == nil || state.Success() {
		t.Fatalf("child was not killed: %v", state)
	}

	st, err := reopen()
	if err != nil {
		t.Fatalf("reopen after the crash: %v", err)
	}
	defer st.Close()
	recs, err := st.Query(context.Background(), intel.Query{Text: "crash bundle-"})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range recs {
		fields := strings.Fields(r.Text)
		if len(fields) < 2 {
			t.Fatalf("unexpected record text %q", r.Text)
		}
		counts[fields[1]]++
	}
	for tag := range reported {
		if counts[tag] != CrashBundleSize {
			t.Errorf("bundle %s was reported committed but has %d of %d records", tag, counts[tag], CrashBundleSize)
		}
	}
	for tag, n := range counts {
		if n != CrashBundleSize {
			t.Errorf("bundle %s is partly stored: %d of %d records", tag, n, CrashBundleSize)
		}
	}
	t.Logf("child reported %d bundles; %d stored (one more means the kill came after a commit, before its report)", len(reported), len(counts))
	if len(counts) < len(reported) || len(counts) > len(reported)+1 {
		t.Errorf("%d bundles stored, want %d or %d", len(counts), len(reported), len(reported)+1)
	}
}
