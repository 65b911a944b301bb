package intel

import (
	"context"
	"sync"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/stix"
)

// viewCacheSize bounds how many viewers' views a service keeps: one per
// organisation and role that reads projections, and few organisations read
// at once.
const viewCacheSize = 32

// viewCache keeps each viewer's view of the projection objects, so that the
// pages and screenings that read several projections in a row parse the
// objects once per change of the store, not once per read. A view is
// current while the store's last addition is the one it was read at; a
// deletion (which adds nothing) bumps the service's own generation. Views
// are read-only once built, and shared.
type viewCache struct {
	mu      sync.Mutex
	gen     uint64 // bumped by deletions through this service
	entries map[viewKey]*viewEntry
	// parsed keeps the objects views parsed, by the DateAdded of their
	// record (unique and never reused: a record's data never changes), so
	// that a change of the store parses only what it added.
	parsed map[int64]*stix.Object
}

type viewKey struct {
	org  string
	role access.Role
}

type viewEntry struct {
	lastAdded int64
	gen       uint64
	vw        *view
}

// cachedLoad returns v's view, from the cache when the store has not
// changed since it was read.
func (s *Service) cachedLoad(ctx context.Context, v access.Viewer) (*view, error) {
	last, err := s.store.LastAdded(ctx)
	if err != nil {
		return nil, err
	}
	key := viewKey{v.Org, v.Role}
	c := &s.views
	c.mu.Lock()
	gen := c.gen
	if e := c.entries[key]; e != nil && e.lastAdded == last && e.gen == gen {
		c.mu.Unlock()
		return e.vw, nil
	}
	c.mu.Unlock()
	vw, err := s.load(ctx, v)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[viewKey]*viewEntry{}
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= viewCacheSize {
		for k := range c.entries { // evict any one: the map's order is random
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = &viewEntry{lastAdded: last, gen: gen, vw: vw}
	return vw, nil
}

// object returns r's object, parsed once per record.
func (c *viewCache) object(r *Record) (*stix.Object, error) {
	if r.DateAdded == 0 {
		return r.Object()
	}
	c.mu.Lock()
	o := c.parsed[r.DateAdded]
	c.mu.Unlock()
	if o != nil {
		return o, nil
	}
	o, err := r.Object()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil {
		c.parsed = map[int64]*stix.Object{}
	}
	c.parsed[r.DateAdded] = o
	c.mu.Unlock()
	return o, nil
}

// keepParsed drops the parsed objects that no view read lately: those not
// in keep, once the cache holds twice as many as keep (so that views of
// several viewers share it without it growing past the store).
func (c *viewCache) keepParsed(keep map[int64]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.parsed) <= 2*len(keep)+1024 {
		return
	}
	for k := range c.parsed {
		if !keep[k] {
			delete(c.parsed, k)
		}
	}
}

// forgetViews drops every cached view, after a change LastAdded does not
// show.
func (s *Service) forgetViews() {
	s.views.mu.Lock()
	s.views.gen++
	s.views.entries = nil
	s.views.mu.Unlock()
}
