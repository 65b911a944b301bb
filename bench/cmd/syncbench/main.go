// Command syncbench is the Go side of bench/sync.sh, the benchmark of a
// sync between two cointrail nodes. It fills the source node's data folder
// before the node starts, and watches the pulling node's store while it
// pulls.
//
//	syncbench key -objects N             name of the cached source folder
//	syncbench fill -data DIR -objects N  fill (or finish filling) a source folder
//	syncbench wait -data DIR -objects N  wait until the pulling node holds them all
//	syncbench count -data DIR -source A  count the objects DIR holds of A's operator
//
// fill submits the corpus through intel.Service.Submit, signed with the
// folder's node key, in batches of 1,000 owned by the node's operator
// organisation, after registering the organisation the pulling node's
// token acts for (bench.SyncRecipient). Every TLP:AMBER case is shared
// with it, so the pulling node gets every object. An interrupted fill
// resumes where it stopped.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/cointrail/cointrail/bench"
	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// batchCases is the number of cases per submitted batch: 1,000 objects.
const batchCases = 1000 / bench.CaseSize

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "syncbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: syncbench key|fill|wait|count [flags]")
	}
	fs := flag.NewFlagSet("syncbench "+args[0], flag.ContinueOnError)
	dir := fs.String("data", "", "the node's data folder")
	objects := fs.Int("objects", 1_000_000, "objects in the source node's corpus (a multiple of 1,000)")
	source := fs.String("source", "", "count: the source node's data folder")
	since := fs.Int64("since", 0, "wait: Unix time in nanoseconds that reported times count from (default: when wait starts)")
	timeout := fs.Duration("timeout", 2*time.Hour, "wait: give up after this long")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *objects <= 0 || *objects%1000 != 0 {
		return fmt.Errorf("-objects %d is not a positive multiple of 1,000", *objects)
	}
	if args[0] != "key" && *dir == "" {
		return errors.New("-data is required")
	}
	switch args[0] {
	case "key":
		fmt.Fprintln(stdout, bench.SyncDataset(*objects))
		return nil
	case "fill":
		return fill(ctx, *dir, *objects, stderr)
	case "wait":
		start := time.Now()
		if *since != 0 {
			start = time.Unix(0, *since)
		}
		return wait(ctx, *dir, *objects, start, *timeout, stdout, stderr)
	case "count":
		if *source == "" {
			return errors.New("count: -source is required")
		}
		return count(ctx, *dir, *source, stdout)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func openStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	return sqlite.Open(ctx, filepath.Join(dir, node.DBFile), sqlite.Options{})
}

// corpus returns the source node's corpus; the ids of its objects do not
// depend on the owner.
func corpus(owner string) bench.Corpus {
	return bench.Corpus{Seed: bench.SyncSeed, Owner: owner, Recipient: bench.SyncRecipient, ShareAll: true}
}

// storedCases returns how many of the corpus's first cases st holds,
// probing the incident that opens each case: the corpus arrives in order,
// a batch (a fill) or a page (a pull) per transaction.
func storedCases(ctx context.Context, st intel.Store, c bench.Corpus, cases, step int) (int, error) {
	var err error
	n := sort.Search(cases/step, func(i int) bool {
		if err != nil {
			return true
		}
		var vs []intel.Record
		vs, err = st.Versions(ctx, c.IncidentID((i+1)*step-1))
		return len(vs) == 0
	})
	return n * step, err
}

// fill submits what dir's store lacks of the first objects objects of the
// corpus, signed with the node's key, as the node's operator organisation.
func fill(ctx context.Context, dir string, objects int, log io.Writer) error {
	cfg, err := node.LoadConfig(dir)
	if err != nil {
		return err
	}
	priv, err := node.LoadKey(dir)
	if err != nil {
		return err
	}
	keys, err := node.Keys(dir)
	if err != nil {
		return err
	}
	if cur := keys[len(keys)-1]; !ed25519.PublicKey(cur.Public).Equal(priv.Public()) {
		return fmt.Errorf("node key of %s is not its current listed key", dir)
	}
	signer := intel.Ed25519Signer{Key: priv, ID: keys[len(keys)-1].ID}
	st, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := intel.New(st, intel.Options{Operator: cfg.Operator, Address: address.Canonical, Signer: signer})
	admin := access.Viewer{Org: cfg.Operator, Role: access.Admin}
	if _, err := st.OrgByName(ctx, bench.SyncRecipientName); fault.CodeOf(err) == fault.NotFound {
		if _, err := svc.CreateOrg(ctx, admin, bench.SyncRecipientName, bench.SyncRecipient); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}

	c := corpus(cfg.Operator)
	cases := objects / bench.CaseSize
	done, err := storedCases(ctx, st, c, cases, batchCases)
	if err != nil {
		return err
	}
	if done == cases {
		fmt.Fprintf(log, "fill: %s already holds the %d objects\n", dir, objects)
		return nil
	}
	// Batches are built and parsed one ahead by a second goroutine.
	ctx, cancel := context.WithCancel(ctx)
	type batch struct {
		objs []*stix.Object
		err  error
	}
	ch := make(chan batch, 2)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(ch)
		for k := done; k < cases; k += batchCases {
			bd, err := stix.ParseBundle(c.Bundle(k, batchCases))
			var objs []*stix.Object
			if bd != nil {
				objs = bd.Objects
			}
			select {
			case ch <- batch{objs, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-finished
	}()

	v := access.Viewer{Org: cfg.Operator, Role: access.Contributor}
	start, last := time.Now(), time.Now()
	added := 0
	for bt := range ch {
		if bt.err != nil {
			return bt.err
		}
		res, err := svc.Submit(ctx, v, bt.objs, intel.SubmitOptions{})
		if err != nil {
			return fmt.Errorf("submit the batch at object %d: %w", done*bench.CaseSize+added, err)
		}
		added += res.Added
		if time.Since(last) >= 10*time.Second {
			last = time.Now()
			rate := float64(added) / time.Since(start).Seconds()
			left := time.Duration(float64(objects-done*bench.CaseSize-added) / rate * float64(time.Second))
			fmt.Fprintf(log, "fill: %d/%d objects, %.0f objects/s, %s left\n",
				done*bench.CaseSize+added, objects, rate, left.Round(time.Second))
		}
	}
	el := time.Since(start)
	fmt.Fprintf(log, "fill: stored %d objects (from %d) in %s, %.0f objects/s\n",
		added, done*bench.CaseSize, el.Round(time.Millisecond), float64(added)/el.Seconds())
	return nil
}

// wait polls dir's store until it holds the corpus's last object (pulls
// store pages in the source's order, a page per transaction), printing
// progress to log every 10 seconds. It prints to out the seconds from start
// to the first object and to the last.
func wait(ctx context.Context, dir string, objects int, start time.Time, timeout time.Duration, out, log io.Writer) error {
	st, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	c := corpus("")
	cases := objects / bench.CaseSize
	objs := c.Case(cases - 1)
	var lastObj struct{ ID string }
	if err := json.Unmarshal(objs[len(objs)-1], &lastObj); err != nil {
		return err
	}
	holds := func(id string) (bool, error) {
		vs, err := st.Versions(ctx, id)
		return len(vs) > 0, err
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var first time.Time
	lastLog := time.Now()
	for {
		if first.IsZero() {
			ok, err := holds(c.IncidentID(0))
			if err != nil {
				return err
			}
			if ok {
				first = time.Now()
			}
		}
		ok, err := holds(lastObj.ID)
		if err != nil {
			return err
		}
		if ok {
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			fmt.Fprintf(out, "first %.3f\nall %.3f\n", first.Sub(start).Seconds(), now.Sub(start).Seconds())
			return nil
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			n, err := storedCases(ctx, st, c, cases, 1)
			if err != nil {
				return err
			}
			fmt.Fprintf(log, "wait: %s: %d/%d objects after %s\n", dir, n*bench.CaseSize, objects, time.Since(start).Round(time.Second))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not hold the last object %s after %s", dir, lastObj.ID, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// count prints how many records dir's store holds that the source node's
// operator organisation owns.
func count(ctx context.Context, dir, source string, out io.Writer) error {
	cfg, err := node.LoadConfig(source)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	n := 0
	var after int64
	for {
		recs, err := st.Query(ctx, intel.Query{After: after, Limit: 10_000})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Owner == cfg.Operator {
				n++
			}
		}
		if len(recs) < 10_000 {
			break
		}
		after = recs[len(recs)-1].DateAdded
	}
	fmt.Fprintln(out, strconv.Itoa(n))
	return nil
}
