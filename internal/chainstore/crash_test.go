package chainstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
)

// crashEnv names the store folder of the child process of
// TestCrashRecovery.
const crashEnv = "COINTRAIL_CHAINSTORE_CRASH_DIR"

// crashPhase is a run of blocks applied from one source.
type crashPhase struct {
	source string
	blocks []*chain.Block
}

// crashPlan is what the crash test applies, one block per batch: Bitcoin
// blocks 0 to 1200; btcd's test chain on the same genesis block (block 1
// reorganises 1200 blocks away) with its own reorg to 3A, 4A, 5A; then
// Bitcoin blocks 1 to 2500 (a reorg back, 1200 blocks re-applied over
// their stale headers, and more).
func crashPlan(tb testing.TB) []crashPhase {
	tb.Helper()
	blocks, _ := mainnet(tb)
	main, side := testChain(tb)
	return []crashPhase{
		{"crash-1", blocks[:1201]},
		{"crash-2", append(append([]*chain.Block{}, main[1:]...), side...)},
		{"crash-3", blocks[1:2501]},
	}
}

// resumePoint returns where the plan stands in s, from the cursors: the
// phase and the index of the next block (len of the last phase when done).
func resumePoint(tb testing.TB, s *Store, plan []crashPhase) (phase, next int) {
	tb.Helper()
	for p := len(plan) - 1; p >= 0; p-- {
		c, err := s.Cursor("bitcoin", plan[p].source)
		if errors.Is(err, chain.ErrNotFound) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		for i, b := range plan[p].blocks {
			if b.Hash == c.Hash {
				if i+1 == len(plan[p].blocks) && p+1 < len(plan) {
					return p + 1, 0
				}
				return p, i + 1
			}
		}
		tb.Fatalf("cursor of %s at %s, not in the plan", plan[p].source, c.Hash)
	}
	return 0, 0
}

// runPlan applies the plan from (phase, next), one block per batch,
// calling after (if not nil) after each block.
func runPlan(tb testing.TB, s *Store, plan []crashPhase, phase, next int, after func(p, i int)) {
	tb.Helper()
	for p := phase; p < len(plan); p++ {
		for i := next; i < len(plan[p].blocks); i++ {
			b := plan[p].blocks[i]
			if err := s.ApplyFrom(context.Background(), plan[p].source, b); err != nil {
				tb.Fatalf("phase %d block %s: %v", p, b.Hash, err)
			}
			if after != nil {
				after(p, i)
			}
		}
		next = 0
	}
}

// TestCrashChild is the process TestCrashRecovery kills: it opens the
// store, resumes from the cursors and applies the plan to its end.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestCrashRecovery")
	}
	plan := crashPlan(t)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, i := resumePoint(t, s, plan)
	fmt.Printf("applying from phase %d block %d\n", p, i)
	runPlan(t, s, plan, p, i, func(p, i int) { fmt.Printf("at %d %d\n", p, i) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("done")
}

// TestCrashRecovery kills a child process that applies the plan at random
// moments (SIGKILL: no cleanup of any kind), lets the next child resume,
// then reopens the store, resumes to the end itself and compares the whole
// index, key by key, and the graph with a store built without
// interruption.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	plan := crashPlan(t)
	start := time.Now()
	ref := MustOpen(t, "", Options{NoSync: true})
	for _, p := range plan {
		for _, b := range p.blocks {
			MustApply(t, ref, p.source, b)
		}
	}
	since(t, "reference built", start)

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	const kills = 4
	killed := 0
	for round := 0; round < kills; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		var resumed string
		var from pos
		for resumed == "" {
			l, ok := <-lines
			if !ok {
				t.Fatalf("round %d: child ended before applying: %v", round, cmd.Wait())
			}
			if _, err := fmt.Sscanf(l, "applying from phase %d block %d", &from.p, &from.i); err == nil {
				resumed = l
			}
		}
		target, delay := crashTarget(rng, plan, round, from)
		finished, reached := false, false
		var timer <-chan time.Time
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					finished = true
					break wait
				}
				var at pos
				if _, err := fmt.Sscanf(l, "at %d %d", &at.p, &at.i); err == nil && !reached && !at.less(target) {
					reached = true
					timer = time.After(delay)
				}
				if l == "done" {
					finished = true
				}
			case <-timer:
				break wait
			}
		}
		if finished {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("round %d: child failed: %v", round, err)
			}
			t.Logf("round %d: %s; finished before the kill", round, resumed)
			break
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		for range lines {
		}
		killed++
		t.Logf("round %d: %s; killed %v after phase %d block %d", round, resumed, delay, target.p, target.i)
	}
	if killed == 0 {
		t.Log("no child was killed mid-way (each finished within its delay)")
	}

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	p, i := resumePoint(t, s, plan)
	t.Logf("parent resumes from phase %d block %d", p, i)
	runPlan(t, s, plan, p, i, nil)
	sameDump(t, dump(t, s, nil), dump(t, ref, nil))
	sameGraph(t, s.Graph("bitcoin"), ref.Graph("bitcoin"))
	since(t, "crash test", start)
}

// pos is a place in the crash plan.
type pos struct{ p, i int }

func (a pos) less(b pos) bool { return a.p < b.p || a.p == b.p && a.i < b.i }

// crashTarget picks where round kills the child: after which block, and
// how long after it. Rounds 1 and 2 aim at the two long reorgs (the first
// blocks of phases 1 and 2), the others anywhere ahead.
func crashTarget(rng *rand.Rand, plan []crashPhase, round int, from pos) (pos, time.Duration) {
	switch round {
	case 1, 2:
		t := pos{round - 1, len(plan[round-1].blocks) - 1}
		if from.less(t) {
			return t, time.Duration(rng.Int64N(int64(60 * time.Millisecond)))
		}
	}
	var all []pos
	for p := range plan {
		for i := range plan[p].blocks {
			if q := (pos{p, i}); !q.less(from) {
				all = append(all, q)
			}
		}
	}
	if len(all) == 0 {
		return from, 0
	}
	return all[rng.IntN(len(all))], time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
}
