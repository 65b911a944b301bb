package federation

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
)

// Options configure a [Syncer]. The zero value is valid.
type Options struct {
	// Interval is the time between two rounds with a peer that is up.
	// Default: 30s.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed round, which
	// doubles with each failure. Defaults: 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds each request to a peer. Default: 60s.
	Timeout time.Duration
	// PageSize is how many objects a request asks for. Default: 1000.
	PageSize int
	// Logger receives what happens. Default: discard.
	Logger *slog.Logger
	// Registerer receives the sync metrics. Default: none.
	Registerer prometheus.Registerer
}

func (o *Options) ensureDefaults() {
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

type metrics struct {
	objects     *prometheus.CounterVec
	errors      *prometheus.CounterVec
	up          *prometheus.GaugeVec
	lag         *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	lastError   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cointrail", Subsystem: "federation", Name: "objects_total",
			Help: "Objects exchanged with peers, by peer, direction (pull, push) and outcome (added, unchanged, rejected).",
		}, []string{"peer", "direction", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cointrail", Subsystem: "federation", Name: "errors_total",
			Help: "Failed sync rounds, by peer.",
		}, []string{"peer"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cointrail", Subsystem: "federation", Name: "up",
			Help: "1 if the last sync round with the peer succeeded.",
		}, []string{"peer"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cointrail", Subsystem: "federation", Name: "lag_seconds",
			Help: "Seconds since a pull last reached the end of the peer's feed.",
		}, []string{"peer"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cointrail", Subsystem: "federation", Name: "last_success_timestamp_seconds",
			Help: "When the last sync round with the peer succeeded.",
		}, []string{"peer"}),
		lastError: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cointrail", Subsystem: "federation", Name: "last_error_timestamp_seconds",
			Help: "When the last sync round with the peer failed (its message: cointrail peer list).",
		}, []string{"peer"}),
	}
	if reg != nil {
		reg.MustRegister(m.objects, m.errors, m.up, m.lag, m.lastSuccess, m.lastError)
	}
	return m
}

// Syncer keeps a node in step with its peers. It is safe for concurrent
// use.
type Syncer struct {
	svc      *intel.Service
	operator access.Viewer
	opts     Options
	m        *metrics

	mu struct {
		sync.Mutex
		status map[string]*Status // by peer; guarded by mu
	}
}

// NewSyncer returns a syncer acting for the node's operator organisation
// (identity id operator).
func NewSyncer(svc *intel.Service, operator string, opts Options) *Syncer {
	opts.ensureDefaults()
	s := &Syncer{svc: svc, operator: access.Viewer{Org: operator, Role: access.Admin}, opts: opts, m: newMetrics(opts.Registerer)}
	s.mu.status = map[string]*Status{}
	return s
}

// Run syncs with every configured peer until ctx ends: one loop per peer,
// so a peer that is down, slow or sends garbage slows no other. It picks up
// peers added or removed while it runs.
func (s *Syncer) Run(ctx context.Context) error {
	type loop struct {
		cfg    string
		cancel context.CancelFunc
		done   chan struct{}
	}
	loops := map[string]*loop{}
	defer func() {
		for _, l := range loops {
			l.cancel()
			<-l.done
		}
	}()
	tick := time.NewTicker(s.opts.Interval)
	defer tick.Stop()
	for {
		peers, err := Peers(ctx, s.svc.Store())
		if err != nil && ctx.Err() == nil {
			s.opts.Logger.ErrorContext(ctx, "read peers", "err", err)
		}
		seen := map[string]bool{}
		for _, p := range peers {
			seen[p.Name] = true
			cfg, _ := json.Marshal(p)
			if l, ok := loops[p.Name]; ok && l.cfg == string(cfg) {
				continue
			} else if ok {
				l.cancel()
				<-l.done
			}
			lctx, cancel := context.WithCancel(ctx)
			l := &loop{cfg: string(cfg), cancel: cancel, done: make(chan struct{})}
			loops[p.Name] = l
			go func(p Peer) {
				defer close(l.done)
				s.peerLoop(lctx, p)
			}(p)
		}
		for name, l := range loops {
			if !seen[name] {
				l.cancel()
				<-l.done
				delete(loops, name)
			}
		}
		s.updateLag()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (s *Syncer) updateLag() {
	now := s.svc.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, st := range s.mu.status {
		if !st.CaughtUp.IsZero() {
			s.m.lag.WithLabelValues(name).Set(now.Sub(st.CaughtUp).Seconds())
		}
	}
}

// peerLoop syncs with p every Interval, backing off after failures.
func (s *Syncer) peerLoop(ctx context.Context, p Peer) {
	log := s.opts.Logger.With("peer", p.Name)
	var backoff time.Duration
	for {
		err := s.Sync(ctx, p)
		wait := s.opts.Interval
		if err != nil && ctx.Err() == nil {
			backoff = min(max(2*backoff, s.opts.MinBackoff), s.opts.MaxBackoff)
			wait = backoff
			log.WarnContext(ctx, "sync failed", "err", err, "retry_in", wait)
		} else {
			backoff = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// Sync runs one round with p: it pulls each collection to the end of the
// peer's feed, then pushes what the peer should have. Progress is kept as
// it goes: a round cut short resumes where it stopped.
func (s *Syncer) Sync(ctx context.Context, p Peer) error {
	st := s.status(ctx, p.Name)
	err := s.sync(ctx, p, st)
	now := s.svc.Now().UTC()
	s.mu.Lock()
	if err != nil {
		st.LastError, st.LastErrorAt = err.Error(), now
		s.m.errors.WithLabelValues(p.Name).Inc()
		s.m.up.WithLabelValues(p.Name).Set(0)
		s.m.lastError.WithLabelValues(p.Name).Set(float64(now.Unix()))
	} else {
		st.LastSuccess = now
		s.m.up.WithLabelValues(p.Name).Set(1)
		s.m.lastSuccess.WithLabelValues(p.Name).Set(float64(now.Unix()))
	}
	data, _ := json.Marshal(st)
	s.mu.Unlock()
	s.updateLag()
	if ctx.Err() == nil {
		if serr := s.svc.SetState(ctx, s.operator, statusPrefix+p.Name, string(data)); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

// status returns the in-memory status of peer, loading it once.
func (s *Syncer) status(ctx context.Context, peer string) *Status {
	s.mu.Lock()
	st, ok := s.mu.status[peer]
	s.mu.Unlock()
	if ok {
		return st
	}
	loaded, err := PeerStatus(ctx, s.svc.Store(), peer)
	if err != nil {
		loaded = Status{Peer: peer}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.mu.status[peer]; ok {
		return st
	}
	s.mu.status[peer] = &loaded
	return &loaded
}

func (s *Syncer) sync(ctx context.Context, p Peer, st *Status) error {
	if p.URL == "" {
		return nil // it pushes to us
	}
	c, err := NewClient(p.URL, p.Token, []byte(p.CA), s.opts.Timeout)
	if err != nil {
		return err
	}
	if err := s.refresh(ctx, c, p); err != nil {
		return err
	}
	cols, err := c.Collections(ctx)
	if err != nil {
		return err
	}
	for _, col := range cols {
		if !col.Info.CanRead || (len(p.Collections) > 0 && !contains(p.Collections, col.Info.ID)) {
			continue
		}
		if err := s.pull(ctx, c, p, col, st); err != nil {
			return fmt.Errorf("pull collection %s: %w", col.Info.ID, err)
		}
	}
	if p.Push {
		for _, col := range cols {
			if col.Info.ID == p.PushCollection {
				if err := s.push(ctx, c, p, col, st); err != nil {
					return fmt.Errorf("push to collection %s: %w", col.Info.ID, err)
				}
				return nil
			}
		}
		return fmt.Errorf("the peer offers no collection %s to push to", p.PushCollection)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pull brings a collection's new objects, a page per transaction with the
// cursor that page moves to. The next page is fetched and parsed while the
// current one is stored.
func (s *Syncer) pull(ctx context.Context, c *Client, p Peer, col Collection, st *Status) error {
	key := pullCursorKey(p.Name, col.Info.ID)
	cursor, _, err := s.svc.Store().State(ctx, key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	type fetched struct {
		page *Page
		err  error
	}
	pages := make(chan fetched, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(pages)
		after, next := cursor, ""
		for {
			a := after
			if next != "" {
				a = ""
			}
			page, err := c.Objects(ctx, col, a, next, s.opts.PageSize)
			select {
			case pages <- fetched{page, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || !page.More {
				return
			}
			next = ""
			switch {
			case len(page.Objects) > 0:
				after = page.LastAdded
			case page.Next != "":
				// A page the peer filtered empty: continue from its token.
				next = page.Next
			default:
				return
			}
		}
	}()
	// Signatures of the next page are checked while this one is stored.
	receiver := access.Viewer{Org: s.operator.Org, Role: access.Sync}
	type verified struct {
		page *Page
		recv *intel.Received
		err  error
	}
	checked := make(chan verified, 1)
	go func() {
		defer wg.Done()
		defer close(checked)
		for f := range pages {
			v := verified{page: f.page, err: f.err}
			if f.err == nil && len(f.page.Objects) > 0 {
				v.recv, v.err = s.svc.Verify(ctx, receiver, f.page.Objects)
			}
			select {
			case checked <- v:
			case <-ctx.Done():
				return
			}
			if v.err != nil {
				return
			}
		}
	}()
	for f := range checked {
		if f.err != nil {
			return f.err
		}
		page := f.page
		if f.recv != nil {
			res, err := f.recv.Store(ctx, intel.ReceiveOptions{From: p.Name, StateKey: key, StateValue: page.LastAdded})
			if err != nil {
				return err
			}
			s.count(p.Name, "pull", res, st)
		}
		if !page.More {
			s.mu.Lock()
			st.CaughtUp = s.svc.Now().UTC()
			s.mu.Unlock()
			return nil
		}
	}
	return ctx.Err()
}

func (s *Syncer) count(peer, direction string, res *intel.ReceiveResult, st *Status) {
	s.m.objects.WithLabelValues(peer, direction, "added").Add(float64(res.Added))
	s.m.objects.WithLabelValues(peer, direction, "unchanged").Add(float64(res.Unchanged))
	s.m.objects.WithLabelValues(peer, direction, "rejected").Add(float64(res.Rejected))
	s.mu.Lock()
	defer s.mu.Unlock()
	if direction == "pull" {
		st.Pulled += int64(res.Added)
	} else {
		st.Pushed += int64(res.Added)
	}
	st.Rejected += int64(res.Rejected)
	if n := len(res.Rejections); n > 0 {
		r := res.Rejections[n-1]
		st.LastRejection = r.ID + ": " + r.Error
		s.opts.Logger.Warn("objects rejected", "peer", peer, "direction", direction, "count", res.Rejected, "last", st.LastRejection)
	}
}

// push sends what the peer's organisations may see and the peer does not
// have from this node yet, a page per request, moving the push cursor
// after each page the peer accepted.
func (s *Syncer) push(ctx context.Context, c *Client, p Peer, col Collection, st *Status) error {
	orgs, err := s.svc.Orgs(ctx, s.operator)
	if err != nil {
		return err
	}
	var viewers []access.Viewer
	for _, o := range orgs {
		if o.Node == p.Name {
			viewers = append(viewers, access.Viewer{Org: o.ID, Role: access.Sync})
		}
	}
	if len(viewers) == 0 {
		return errors.New("no organisation of the peer is bound here")
	}
	key := pushCursorKey(p.Name)
	raw, _, err := s.svc.Store().State(ctx, key)
	if err != nil {
		return err
	}
	pos, _ := strconv.ParseInt(raw, 10, 64)
	for {
		recs, next, err := s.svc.Outbox(ctx, viewers, pos, s.opts.PageSize)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			objs := make([][]byte, len(recs))
			for i := range recs {
				objs[i] = recs[i].Data
			}
			status, err := c.Add(ctx, col, objs)
			if err != nil {
				return err
			}
			res := &intel.ReceiveResult{Added: status.SuccessCount, Rejected: status.FailureCount}
			for _, f := range status.Failures {
				res.Rejections = append(res.Rejections, intel.ObjectResult{ID: f.ID, Error: f.Message})
			}
			s.count(p.Name, "push", res, st)
		}
		if next > pos {
			if err := s.svc.SetState(ctx, s.operator, key, strconv.FormatInt(next, 10)); err != nil {
				return err
			}
			pos = next
		}
		if len(recs) < s.opts.PageSize {
			return nil
		}
	}
}

// refresh reads the peer's node document again, checks it against the keys
// already bound to the peer, and binds what is new: a key the peer rotated
// to (announced under a bound key), an organisation the peer added.
func (s *Syncer) refresh(ctx context.Context, c *Client, p Peer) error {
	bound, err := s.svc.Store().NodeKeys(ctx, p.Name)
	if err != nil {
		return err
	}
	if len(bound) == 0 {
		return fmt.Errorf("no key is bound to peer %s", p.Name)
	}
	trusted := make([]ed25519.PublicKey, len(bound))
	have := map[string]bool{}
	for i, k := range bound {
		trusted[i] = k.Public
		have[k.ID] = true
	}
	doc, err := c.Document(ctx)
	if err != nil {
		return err
	}
	b, err := verifyDocument(doc, trusted, p.Name)
	if err != nil {
		return fmt.Errorf("node document: %w", err)
	}
	var newKeys []access.NodeKey
	for _, k := range b.Keys {
		if !have[k.ID] {
			newKeys = append(newKeys, k)
		}
	}
	var newOrgs []access.Org
	for _, o := range b.Orgs {
		if cur, err := s.svc.Store().Org(ctx, o.ID); err != nil || cur.Node != p.Name {
			newOrgs = append(newOrgs, o)
		}
	}
	if len(newKeys) == 0 && len(newOrgs) == 0 {
		return nil
	}
	s.opts.Logger.InfoContext(ctx, "peer document changed", "peer", p.Name, "new_keys", len(newKeys), "new_orgs", len(newOrgs))
	return s.svc.BindNode(ctx, s.operator, p.Name, newKeys, newOrgs, "", "")
}
