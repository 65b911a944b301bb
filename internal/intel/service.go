// Package intel stores and serves a node's shared intelligence as STIX
// objects, each read and write acting as an [access.Viewer].
//
// Submissions are validated and stored whole or not at all; reads are
// filtered through [access.CanSee]; projections (flagged addresses,
// incidents) are computed from the objects the viewer may see, so they can
// always be dropped and rebuilt.
package intel

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// Options configure a [Service]. The zero value is valid.
type Options struct {
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Address checks and canonicalises cryptocurrency addresses in wallets.
	// Default: no check.
	Address stix.AddressChecker
	// Operator is the identity id of the node's operator organisation,
	// whose admins manage every organisation. Default: none.
	Operator string
	// Signer signs the objects this node's organisations submit. Default:
	// none (objects carry their owner, unsigned).
	Signer Signer
	// MaxScan caps how many stored records one query page may examine
	// before returning a shorter page with a cursor. Default: 50,000.
	MaxScan int
}

// Service is the intel service. It is safe for concurrent use.
type Service struct {
	store   Store
	log     *slog.Logger
	now     func() time.Time
	valid   stix.Validator
	maxScan int
	op      string
	signer  Signer
	views   viewCache
}

// New returns a service over store.
func New(store Store, opts Options) *Service {
	s := &Service{store: store, log: opts.Logger, now: opts.Now, maxScan: opts.MaxScan, op: opts.Operator, signer: opts.Signer}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxScan <= 0 {
		s.maxScan = 50000
	}
	s.valid = stix.Validator{Address: opts.Address}
	return s
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.now() }

// Authenticate checks a plaintext token and returns its viewer.
func (s *Service) Authenticate(ctx context.Context, token string) (access.Viewer, error) {
	return access.Authenticate(ctx, s.store, token, s.now())
}

func require(v access.Viewer, a access.Action) error {
	if v.Anonymous() && a != access.Read {
		return fault.New(fault.Unauthorized, "a token is required to %s", a)
	}
	if !access.Allowed(v, a) {
		return fault.New(fault.Forbidden, "role %q may not %s", v.Role, a)
	}
	return nil
}

// versionOf returns the normalised version of an object: its "modified"
// timestamp in [VersionLayout], or "" if it is not versioned.
func versionOf(o *stix.Object) (string, error) {
	if !stix.Versioned(o) {
		return "", nil
	}
	m := o.Modified()
	t, err := stix.ParseTime(m)
	if err != nil {
		return "", fmt.Errorf("modified: %w", err)
	}
	return t.UTC().Format(VersionLayout), nil
}

// searchText gathers the lower-case text a query by text matches: names,
// aliases, values, and the wallet addresses in indicator patterns.
func searchText(o *stix.Object) string {
	var parts []string
	for _, p := range []string{"name", "value", "hash", "x_mitre_id"} {
		if s := o.String(p); s != "" {
			parts = append(parts, s)
		}
	}
	for _, p := range []string{"aliases", "x_opencti_aliases"} {
		parts = append(parts, o.Strings(p)...)
	}
	if o.Type == "indicator" {
		for _, w := range patternWallets(o.String("pattern")) {
			parts = append(parts, w.Value)
		}
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// record builds the stored record of o as owned by owner.
func record(o *stix.Object, owner string, local bool) (*Record, error) {
	data, err := o.Canonical()
	if err != nil {
		return nil, err
	}
	return recordOf(o, data, owner, local)
}

// recordOf builds the stored record of o, whose canonical JSON is data.
func recordOf(o *stix.Object, data []byte, owner string, local bool) (*Record, error) {
	version, err := versionOf(o)
	if err != nil {
		return nil, err
	}
	sv := o.String("spec_version")
	if sv == "" {
		sv = "2.1"
	}
	return &Record{
		ID:          o.ID,
		Type:        o.Type,
		Version:     version,
		Owner:       owner,
		Local:       local,
		TLP:         o.TLP(),
		Recipients:  o.Recipients(),
		Revoked:     o.Revoked(),
		SpecVersion: sv,
		Text:        searchText(o),
		Data:        data,
	}, nil
}

// Object decodes the record's object.
func (r *Record) Object() (*stix.Object, error) {
	o, err := stix.Parse(r.Data)
	if err != nil {
		return nil, fmt.Errorf("stored object %s: %w", r.ID, err)
	}
	return o, nil
}
