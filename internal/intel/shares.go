package intel

import (
	"context"
	"fmt"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/stix"
)

// Share counts the objects an organisation owns under one marking.
type Share struct {
	TLP   stix.TLP
	Count int
	// Recipients counts, of Count, the objects that name recipients.
	Recipients int
}

// Shares counts the current, unrevoked objects v's organisation owns, by
// marking (TLPNone for unmarked ones), in order from TLP:CLEAR to TLP:RED.
// It reads every holding, where [Service.List] keeps one per observable
// (and would miss some of the organisation's own), and logs no read: a
// count of one's own objects shows none of them.
func (s *Service) Shares(ctx context.Context, v access.Viewer) ([]Share, error) {
	if v.Anonymous() {
		return nil, nil
	}
	counts := map[stix.TLP]*Share{}
	err := s.scan(ctx, v, Query{Latest: true, ExcludeRevoked: true}, func(r *Record) error {
		if r.Owner != v.Org {
			return nil
		}
		c := counts[r.TLP]
		if c == nil {
			c = &Share{TLP: r.TLP}
			counts[r.TLP] = c
		}
		c.Count++
		if len(r.Recipients) > 0 {
			c.Recipients++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count own objects: %w", err)
	}
	var out []Share
	for _, t := range []stix.TLP{stix.TLPNone, stix.TLPClear, stix.TLPGreen, stix.TLPAmber, stix.TLPAmberStrict, stix.TLPRed} {
		if c := counts[t]; c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}
