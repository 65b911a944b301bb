package alert

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"strings"
	"sync"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// Intel is what alerts read and write of the node's intelligence, each
// time as one viewer: incidents and labels to trace and to match watches,
// organisations to check a watch's owner, flags to find the indicator a
// sighting is of, and Submit to record the sighting.
type Intel interface {
	Incidents(ctx context.Context, v access.Viewer) ([]intel.Incident, error)
	Labels(ctx context.Context, v access.Viewer, q intel.FlagQuery) ([]intel.WalletLabel, error)
	Flags(ctx context.Context, v access.Viewer, q intel.FlagQuery) ([]intel.FlaggedAddress, error)
	Org(ctx context.Context, v access.Viewer, idOrName string) (access.Org, error)
	Submit(ctx context.Context, v access.Viewer, objs []*stix.Object, opts intel.SubmitOptions) (*intel.SubmitResult, error)
	// Store gives LastAdded, which tells when the intelligence changed.
	Store() intel.Store
}

// Options configure a [Service]. The zero value is valid but for
// Operator, which live traces need.
type Options struct {
	// Logger receives what happens. Default: discard.
	Logger *slog.Logger
	// Operator is the identity id of the node's operator organisation, as
	// whom the live traces read incidents and labels.
	Operator string
}

// Service is the watches and alerts as organisations see them: each viewer
// manages its own organisation's watches and reads and acknowledges its
// own alerts. It is safe for concurrent use.
type Service struct {
	store *Store
	intel Intel
	log   *slog.Logger
	opts  Options

	// sightings is poked when an alert is raised: its sighting waits to
	// be recorded (see Live).
	sightings chan struct{}

	mu struct {
		sync.Mutex
		// raised is closed, and replaced, when an alert is raised.
		raised chan struct{}
	}
}

// NewService returns the service over store, checking organisations and
// recording sightings through in.
func NewService(store *Store, in Intel, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, intel: in, log: opts.Logger, opts: opts, sightings: make(chan struct{}, 1)}
	s.mu.raised = make(chan struct{})
	return s
}

// Store returns the service's store.
func (s *Service) Store() *Store { return s.store }

// Raised returns a channel that is closed when the next alert is raised.
// Take it before reading the alerts, so that none raised in between is
// missed.
func (s *Service) Raised() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.raised
}

func (s *Service) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.mu.raised)
	s.mu.raised = make(chan struct{})
}

// reader checks that v may read its organisation's watches and alerts.
func reader(v access.Viewer) error {
	switch {
	case v.Anonymous():
		return fault.New(fault.Unauthorized, "a token is required")
	case v.Role == access.Sync:
		return fault.New(fault.Forbidden, "a peer node's token has no watches or alerts")
	}
	return nil
}

// writer checks that v may change its organisation's watches and alerts.
func writer(v access.Viewer) error {
	if err := reader(v); err != nil {
		return err
	}
	if !access.Allowed(v, access.Write) {
		return fault.New(fault.Forbidden, "role %s may not change watches or alerts (contributor or admin)", v.Role)
	}
	return nil
}

// AddWatch stores a watch of v's organisation: w's Chain, and either
// Addresses (canonicalised; a bad one is refused with code Malformed) or
// Label; Min in base units; Webhook, an http or https URL, with the
// Secret its deliveries are signed with. v needs the contributor or admin
// role. It returns the watch as stored.
func (s *Service) AddWatch(ctx context.Context, v access.Viewer, w Watch) (Watch, error) {
	if err := writer(v); err != nil {
		return Watch{}, err
	}
	if _, err := s.intel.Org(ctx, v, v.Org); err != nil {
		return Watch{}, fmt.Errorf("organisation %s: %w", v.Org, err)
	}
	w.ID, w.Org, w.Created = "", v.Org, w.Created.UTC()
	if err := check(&w); err != nil {
		return Watch{}, err
	}
	if err := s.store.AddWatch(ctx, &w); err != nil {
		return Watch{}, err
	}
	s.log.InfoContext(ctx, "watch added", "watch", w.ID, "org", w.Org, "chain", w.Chain, "addresses", len(w.Addresses), "label", w.Label)
	return w, nil
}

// check validates and canonicalises w.
func check(w *Watch) error {
	if _, ok := chain.Lookup(w.Chain); !ok {
		return fault.New(fault.Invalid, "chain %q is not a chain cointrail knows", w.Chain)
	}
	w.Label = strings.TrimSpace(w.Label)
	if (len(w.Addresses) == 0) == (w.Label == "") {
		return fault.New(fault.Invalid, "a watch needs addresses or a label (one of them)")
	}
	seen := map[string]bool{}
	var addrs []string
	for _, a := range w.Addresses {
		c, err := address.Canonical(w.Chain, a)
		if err != nil {
			return err
		}
		if !seen[c] {
			seen[c] = true
			addrs = append(addrs, c)
		}
	}
	w.Addresses = addrs
	if w.Min == "" {
		w.Min = "0"
	}
	if m, ok := new(big.Int).SetString(w.Min, 10); !ok || m.Sign() < 0 {
		return fault.New(fault.Invalid, "min %q is not a whole number of base units", w.Min)
	}
	if w.Webhook != "" {
		u, err := url.Parse(w.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fault.New(fault.Invalid, "webhook %q is not an http(s) URL", w.Webhook)
		}
		if w.Secret == "" {
			return fault.New(fault.Invalid, "a webhook needs a secret to sign its deliveries with")
		}
	} else if w.Secret != "" {
		return fault.New(fault.Invalid, "a secret goes with a webhook")
	}
	return nil
}

// Watches returns v's organisation's watches.
func (s *Service) Watches(ctx context.Context, v access.Viewer) ([]Watch, error) {
	if err := reader(v); err != nil {
		return nil, err
	}
	ws, err := s.store.Watches(ctx, v.Org)
	if ws == nil {
		ws = []Watch{}
	}
	return ws, err
}

// RemoveWatch removes one of v's organisation's watches: code NotFound
// for another's. Its alerts stay; their pending deliveries are canceled.
func (s *Service) RemoveWatch(ctx context.Context, v access.Viewer, id string) error {
	if err := writer(v); err != nil {
		return err
	}
	return s.store.RemoveWatch(ctx, id, v.Org)
}

// Alerts returns v's organisation's alerts that f selects (f.Org is
// ignored), oldest first.
func (s *Service) Alerts(ctx context.Context, v access.Viewer, f Filter) ([]Alert, error) {
	if err := reader(v); err != nil {
		return nil, err
	}
	f.Org = v.Org
	return s.store.Alerts(ctx, f)
}

// Ack acknowledges one of v's organisation's alerts: code NotFound for
// another's.
func (s *Service) Ack(ctx context.Context, v access.Viewer, id string) (Alert, error) {
	if err := writer(v); err != nil {
		return Alert{}, err
	}
	return s.store.Ack(ctx, id, v.Org)
}

// Raise stores a, raised by watch w (it fills in a's ID, Seq, Created,
// State and Sighting), queues its delivery to w's webhook and tells the
// subscribers (see Raised). Its STIX sighting is recorded apart, by
// [Live], so that the delivery does not wait for it. An alert of the same
// incident, watch, transaction and address as a stored one is not stored
// again: Raise reports whether a was new.
func (s *Service) Raise(ctx context.Context, a *Alert, w Watch) (bool, error) {
	if a.ID == "" {
		a.ID = newID()
	}
	a.Sighting = derivedID("sighting", a.ID)
	ok, err := s.store.insertAlert(ctx, a, w.Webhook, w.Secret)
	if err != nil || !ok {
		return false, err
	}
	s.log.InfoContext(ctx, "alert raised", "alert", a.ID, "org", a.Org, "watch", a.Watch, "incident", a.Incident,
		"chain", a.Chain, "address", a.Address, "tx", a.Tx, "fifo", a.Amounts.FIFO, "haircut", a.Amounts.Haircut)
	s.notify()
	select {
	case s.sightings <- struct{}{}:
	default:
	}
	return true, nil
}
