package intel

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// Limits of a page of objects.
const (
	DefaultPageSize = 100
	MaxPageSize     = 10000
)

// ListQuery selects objects for a viewer. The zero value lists the current
// version of every object the viewer may see, oldest first.
type ListQuery struct {
	// Types keeps objects of these types.
	Types []string
	// IDs keeps objects with these ids.
	IDs []string
	// AddedAfter keeps records this node stored after this instant.
	AddedAfter time.Time
	// Text keeps objects whose name, aliases or value contain it (any case).
	Text string
	// Cursor continues a previous page (its [Page.Next]).
	Cursor string
	// Limit is the page size: default DefaultPageSize, at most MaxPageSize.
	Limit int
	// AllVersions lists every version, not only the current one.
	AllVersions bool
	// Versions selects versions as TAXII's match[version] does; the zero
	// value (and AllVersions false) selects the current version.
	Versions VersionMatch
	// SpecVersions keeps objects of these spec_version values; empty keeps
	// all.
	SpecVersions []string
	// IncludeRevoked keeps revoked objects.
	IncludeRevoked bool
}

// VersionMatch selects versions of objects: the first, the last (current),
// all, or those with given "modified" timestamps.
type VersionMatch struct {
	All, First, Last bool
	// At holds versions in [VersionLayout].
	At []string
}

func (m VersionMatch) zero() bool { return !m.All && !m.First && !m.Last && len(m.At) == 0 }

// ParseVersionMatch parses TAXII's match[version]: a comma-separated list
// of "last", "first", "all" and timestamps. "" is "last".
func ParseVersionMatch(s string) (VersionMatch, error) {
	var m VersionMatch
	if s == "" {
		m.Last = true
		return m, nil
	}
	for _, part := range strings.Split(s, ",") {
		switch part = strings.TrimSpace(part); part {
		case "all":
			m.All = true
		case "first":
			m.First = true
		case "last":
			m.Last = true
		default:
			t, err := stix.ParseTime(part)
			if err != nil {
				return m, fault.New(fault.Malformed, "match[version] %q is not first, last, all or a timestamp", part)
			}
			m.At = append(m.At, t.UTC().Format(VersionLayout))
		}
	}
	return m, nil
}

// Page is one page of a listing.
type Page struct {
	Records []Record
	// Next is the cursor of the next page; "" when there is none.
	Next string
}

// cursor encodes the DateAdded a page ended at.
func encodeCursor(after int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a" + strconv.FormatInt(after, 10)))
}

// DecodeCursor returns the DateAdded a cursor continues after.
func DecodeCursor(c string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < 2 || raw[0] != 'a' {
		return 0, fault.New(fault.Malformed, "invalid cursor %q", c)
	}
	n, err := strconv.ParseInt(string(raw[1:]), 10, 64)
	if err != nil || n < 0 {
		return 0, fault.New(fault.Malformed, "invalid cursor %q", c)
	}
	return n, nil
}

// List returns one page of the objects q selects that v may see, in the
// order this node stored them.
func (s *Service) List(ctx context.Context, v access.Viewer, q ListQuery) (*Page, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultPageSize
	case limit > MaxPageSize:
		return nil, fault.New(fault.Malformed, "limit %d is over the maximum of %d", limit, MaxPageSize)
	}
	var after int64
	if !q.AddedAfter.IsZero() {
		after = q.AddedAfter.UnixMicro()
	}
	if q.Cursor != "" {
		c, err := DecodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		after = max(after, c)
	}
	vm := q.Versions
	if q.AllVersions {
		vm = VersionMatch{All: true}
	}
	if vm.zero() {
		vm.Last = true
	}
	lastOnly := vm.Last && !vm.All && !vm.First && len(vm.At) == 0
	sq := Query{
		Types: q.Types, IDs: q.IDs, After: after, Text: strings.ToLower(q.Text),
		Latest: lastOnly, ExcludeRevoked: !q.IncludeRevoked, VisibleTo: &v,
	}
	firsts := map[string]string{} // id -> its first visible version
	keep := func(r *Record) (bool, error) {
		if len(q.SpecVersions) > 0 && !slices.Contains(q.SpecVersions, r.SpecVersion) {
			return false, nil
		}
		switch {
		case lastOnly, vm.All, vm.Last && r.Latest:
			return true, nil
		case r.Version == "":
			// Observables have one current holding per owner: it is their
			// first and last version.
			return vm.First && r.Latest, nil
		case slices.Contains(vm.At, r.Version):
			return true, nil
		case vm.First:
			first, ok := firsts[r.ID]
			if !ok {
				versions, err := s.visibleVersions(ctx, v, r.ID)
				if err != nil {
					return false, err
				}
				first = versions[0].Version
				for _, x := range versions {
					if x.Version != "" && x.Version < first {
						first = x.Version
					}
				}
				firsts[r.ID] = first
			}
			return r.Version == first, nil
		}
		return false, nil
	}
	page := &Page{}
	seen := map[string]bool{} // observables may have a holding per owner
	scanned := 0
	for {
		need := limit - len(page.Records)
		// Ask for one more than needed, to learn whether a next page exists,
		// and never for too few, so a run of invisible records costs few
		// round trips.
		sq.Limit = max(need+1, 64)
		batch, err := s.store.Query(ctx, sq)
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		for i := range batch {
			r := &batch[i]
			if len(page.Records) == limit {
				// One more visible record means there is a next page.
				if access.CanSee(v, r.Holding()) {
					page.Next = encodeCursor(sq.After)
					break
				}
				sq.After = r.DateAdded
				continue
			}
			sq.After = r.DateAdded
			scanned++
			if !access.CanSee(v, r.Holding()) {
				continue
			}
			if ok, err := keep(r); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
			key := r.ID + "|" + r.Version
			if r.Version == "" && lastOnly {
				if seen[key] {
					continue
				}
				seen[key] = true
			}
			page.Records = append(page.Records, *r)
		}
		if page.Next != "" || len(batch) < sq.Limit {
			break
		}
		if scanned >= s.maxScan {
			// Return what we have; the cursor resumes the scan.
			page.Next = encodeCursor(sq.After)
			break
		}
	}
	if err := s.auditRecords(ctx, v, page.Records, "list"); err != nil {
		return nil, err
	}
	return page, nil
}

// scan calls fn for every record q selects that v may see.
func (s *Service) scan(ctx context.Context, v access.Viewer, q Query, fn func(*Record) error) error {
	q.VisibleTo = &v
	q.Limit = 2000
	for {
		batch, err := s.store.Query(ctx, q)
		if err != nil {
			return err
		}
		for i := range batch {
			r := &batch[i]
			q.After = r.DateAdded
			if !access.CanSee(v, r.Holding()) {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(batch) < q.Limit {
			return nil
		}
	}
}

// Get returns the current version of object id that v may see: the latest
// visible version of a versioned object, or the viewer's own holding of an
// observable before another visible one. It is a fault.NotFound error if v
// may see no version.
func (s *Service) Get(ctx context.Context, v access.Viewer, id string) (*Record, error) {
	versions, err := s.visibleVersions(ctx, v, id)
	if err != nil {
		return nil, err
	}
	var best *Record
	for i := range versions {
		r := &versions[i]
		switch {
		case best == nil:
			best = r
		case r.Version != "":
			if r.Version > best.Version {
				best = r
			}
		case r.Latest && (r.Owner == v.Org || !best.Latest):
			best = r
		}
	}
	if err := s.auditRecords(ctx, v, []Record{*best}, "get"); err != nil {
		return nil, err
	}
	return best, nil
}

// Versions returns every version of object id that v may see, oldest
// first. It is a fault.NotFound error if v may see none.
func (s *Service) Versions(ctx context.Context, v access.Viewer, id string) ([]Record, error) {
	versions, err := s.visibleVersions(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if err := s.auditRecords(ctx, v, versions, "versions"); err != nil {
		return nil, err
	}
	return versions, nil
}

func (s *Service) visibleVersions(ctx context.Context, v access.Viewer, id string) ([]Record, error) {
	if !stix.IsID(id) {
		return nil, fault.New(fault.Malformed, "%q is not a STIX identifier (type--UUID)", id)
	}
	all, err := s.store.Versions(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", id, err)
	}
	out := all[:0]
	for _, r := range all {
		if access.CanSee(v, r.Holding()) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fault.New(fault.NotFound, "no object %s", id)
	}
	return out, nil
}

// Export calls fn with the current, unrevoked version of every object v may
// see, in the order the node stored them.
func (s *Service) Export(ctx context.Context, v access.Viewer, fn func(*Record) error) error {
	seen := map[string]bool{}
	var batch []Record
	// Each batch is logged before it is handed out.
	flush := func() error {
		if err := s.auditRecords(ctx, v, batch, "export"); err != nil {
			return err
		}
		for i := range batch {
			if err := fn(&batch[i]); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	err := s.scan(ctx, v, Query{Latest: true, ExcludeRevoked: true}, func(r *Record) error {
		if r.Version == "" {
			if seen[r.ID] {
				return nil
			}
			seen[r.ID] = true
		}
		batch = append(batch, *r)
		if len(batch) >= 1000 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// auditRecords logs v's reads of AMBER and RED records (unmarked ones count
// as AMBER): one entry per call (a page, a get), naming every such record.
// A read that cannot be logged must not be served.
func (s *Service) auditRecords(ctx context.Context, v access.Viewer, recs []Record, how string) error {
	var objects []string
	strictest := stix.TLPNone
	for i := range recs {
		r := &recs[i]
		if r.TLP == stix.TLPClear || r.TLP == stix.TLPGreen {
			continue
		}
		name := r.ID
		if r.Version != "" {
			name += "@" + r.Version
		}
		objects = append(objects, name)
		strictest = max(strictest, r.TLP)
	}
	if len(objects) == 0 {
		return nil
	}
	e := AuditEntry{Time: s.now().UTC(), Org: v.Org, Token: v.TokenID, Action: "read", TLP: tlpName(strictest), Detail: how}
	if len(objects) == 1 {
		for i := range recs {
			if recs[i].TLP != stix.TLPClear && recs[i].TLP != stix.TLPGreen {
				e.Object, e.Version = recs[i].ID, recs[i].Version
			}
		}
	} else {
		e.Objects = objects
	}
	if err := s.store.AppendAudit(ctx, []AuditEntry{e}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

func (s *Service) auditReads(ctx context.Context, v access.Viewer, recs []*Record, how string) error {
	seen := map[*Record]bool{}
	var flat []Record
	for _, r := range recs {
		if r != nil && !seen[r] {
			seen[r] = true
			flat = append(flat, *r)
		}
	}
	return s.auditRecords(ctx, v, flat, how)
}

// Outbox returns up to limit records stored after position after (a
// DateAdded) that any of viewers may see, every version, revoked ones too:
// what to push to a peer node whose organisations the viewers are. It
// leaves out the objects every node installs itself and those the viewers'
// organisations own. It returns the position to continue from, which moves
// past records it leaves out, and logs the AMBER and RED records it hands
// out.
func (s *Service) Outbox(ctx context.Context, viewers []access.Viewer, after int64, limit int) ([]Record, int64, error) {
	if len(viewers) == 0 {
		return nil, after, nil
	}
	theirs := map[string]bool{}
	for _, v := range viewers {
		theirs[v.Org] = true
	}
	var out []Record
	pos := after
	for len(out) < limit {
		batch, err := s.store.Query(ctx, Query{After: pos, Limit: limit})
		if err != nil {
			return nil, after, fmt.Errorf("outbox: %w", err)
		}
		for i := range batch {
			r := &batch[i]
			pos = r.DateAdded
			if theirs[r.Owner] || r.Owner == stix.ProjectIdentityID {
				continue
			}
			for _, v := range viewers {
				if access.CanSee(v, r.Holding()) {
					out = append(out, *r)
					break
				}
			}
			if len(out) == limit {
				break
			}
		}
		if len(batch) < limit {
			break
		}
	}
	if err := s.auditRecords(ctx, viewers[0], out, "push"); err != nil {
		return nil, after, err
	}
	return out, pos, nil
}
