package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// benchRecord returns record n of a benchmark: an indicator of about 1 KB
// of data, GREEN or AMBER, with a distinct id.
func benchRecord(run, n int) *intel.Record {
	id := fmt.Sprintf("indicator--b0000000-%04d-4000-8000-%012d", run%10000, n)
	r := newRecord(id, version(n%1000), orgA, stix.TLPGreen)
	if n%4 == 0 {
		r.TLP, r.Owner, r.Recipients = stix.TLPAmber, orgB, []string{orgC}
	}
	r.Text = fmt.Sprintf("indicator wallet bc1q%040d lazarus", n)
	r.Data = fmt.Appendf(nil, `{"id":%q,"pattern":"[cryptocurrency-wallet:value = 'bc1q%040d']","description":%q,"type":"indicator"}`,
		id, n, strings.Repeat("lorem ipsum ", 75))
	return r
}

// BenchmarkInsert measures one Update of perUpdate records of about 1 KB
// per iteration and reports objects/s.
func BenchmarkInsert(b *testing.B, st intel.Store, perUpdate int) {
	benchmarkInsert(b, st, perUpdate, false)
}

// BenchmarkIngest is [BenchmarkInsert] as intel submits a bundle: it reads
// the stored versions of each id (Tx.Versions) before inserting it.
func BenchmarkIngest(b *testing.B, st intel.Store, perUpdate int) {
	benchmarkInsert(b, st, perUpdate, true)
}

func benchmarkInsert(b *testing.B, st intel.Store, perUpdate int, readFirst bool) {
	ctx := context.Background()
	run := 0
	for b.Loop() {
		b.StopTimer()
		recs := make([]*intel.Record, perUpdate)
		for i := range recs {
			recs[i] = benchRecord(run, i)
		}
		run++
		b.StartTimer()
		err := st.Update(ctx, func(tx intel.Tx) error {
			for _, r := range recs {
				if readFirst {
					if _, err := tx.Versions(ctx, r.ID); err != nil {
						return err
					}
				}
				if err := tx.Insert(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perUpdate)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkQueryPage stores total records, then measures reading them in
// pages of pageSize (latest, not revoked, visible to an organisation, by
// DateAdded), as TAXII and REST clients do; it reports objects/s.
func BenchmarkQueryPage(b *testing.B, st intel.Store, total, pageSize int) {
	ctx := context.Background()
	for start := 0; start < total; start += 1000 {
		err := st.Update(ctx, func(tx intel.Tx) error {
			for i := start; i < min(start+1000, total); i++ {
				if err := tx.Insert(ctx, benchRecord(0, i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	v := &access.Viewer{Org: orgC, Role: access.Reader}
	var after int64
	read := 0
	b.ResetTimer()
	for b.Loop() {
		recs, err := st.Query(ctx, intel.Query{Latest: true, ExcludeRevoked: true, VisibleTo: v, After: after, Limit: pageSize})
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) < pageSize {
			after = 0 // wrap around
		} else {
			after = recs[len(recs)-1].DateAdded
		}
		read += len(recs)
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "objects/s")
}
