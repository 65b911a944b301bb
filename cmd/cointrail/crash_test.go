package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

const (
	crashBundles   = 150
	crashPerBundle = 200
	crashChildEnv  = "COINTRAIL_TEST_CRASH_CHILD"
	crashDataEnv   = "COINTRAIL_TEST_CRASH_DATA"
	crashFileEnv   = "COINTRAIL_TEST_CRASH_FILE"
)

// TestImportCrashChild is the child process of TestImportCrash: it runs a
// bulk import and is killed in the middle of it.
func TestImportCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("runs only as the child of TestImportCrash")
	}
	code := Run(context.Background(), []string{"import", "stix", os.Getenv(crashFileEnv), "--data", os.Getenv(crashDataEnv), "--org", "alpha"},
		strings.NewReader(""), os.Stdout, os.Stderr, os.LookupEnv)
	os.Exit(code)
}

// TestImportCrash kills an import with SIGKILL while it runs, then checks
// that every bundle it had committed is there whole, and that no bundle is
// there in part.
func TestImportCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "init", "--data", dir)
	mustRun(t, "org", "create", "alpha", "--data", dir)
	file := filepath.Join(t.TempDir(), "bundles.json")
	var b strings.Builder
	for i := range crashBundles {
		fmt.Fprintf(&b, `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-%012d","objects":[`, i)
		for j := range crashPerBundle {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type":"campaign","id":"campaign--%08d-0000-4000-8000-%012d","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"crash bundle %04d object %04d","description":"%s"}`,
				i, j, i, j, strings.Repeat("x", 200))
		}
		b.WriteString("]}\n")
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, node.DBFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func() int {
		recs, err := st.Query(ctx, intel.Query{Types: []string{"campaign"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestImportCrashChild$")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDataEnv+"="+dir, crashFileEnv+"="+file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	deadline := time.Now().Add(60 * time.Second)
	for committed < 10*crashPerBundle && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		committed = count()
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed mid-import (it ended: %v; stderr %s); make the import larger", err, stderr.String())
	}
	if committed == 0 {
		t.Fatal("nothing was committed before the kill")
	}
	st.Close()

	// Reopen as a node would after the crash.
	st2, err := sqlite.Open(ctx, filepath.Join(dir, node.DBFile), sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer st2.Close()
	recs, err := st2.Query(ctx, intel.Query{Types: []string{"campaign"}})
	if err != nil {
		t.Fatal(err)
	}
	perBundle := map[int]int{}
	for _, r := range recs {
		var bi, oi int
		if _, err := fmt.Sscanf(r.Text, "crash bundle %d object %d", &bi, &oi); err != nil {
			t.Fatalf("unexpected text %q", r.Text)
		}
		perBundle[bi]++
	}
	if len(recs) < committed {
		t.Errorf("%d objects after the crash, %d were committed before it", len(recs), committed)
	}
	whole := 0
	for i := range crashBundles {
		switch perBundle[i] {
		case 0:
		case crashPerBundle:
			whole++
		default:
			t.Errorf("bundle %d is there in part: %d of %d objects", i, perBundle[i], crashPerBundle)
		}
	}
	// Bundles are imported in order: the whole ones are the first ones.
	for i := range whole {
		if perBundle[i] != crashPerBundle {
			t.Errorf("bundle %d missing while a later one is stored", i)
		}
	}
	if whole == crashBundles {
		t.Error("the import finished before the kill")
	}
	t.Logf("killed after %d committed objects; %d of %d bundles whole after reopening", committed, whole, crashBundles)

	// The node works after the crash: the import can be run again to the end.
	out := mustRun(t, "import", "stix", file, "--data", dir, "--org", "alpha")
	if !strings.Contains(out, fmt.Sprintf("imported %d bundles", crashBundles)) {
		t.Errorf("re-import printed %q", out)
	}
}
