package misp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cointrail/cointrail/internal/stix"
)

// sharingGroup is a MISP sharing group as the STIX objects keep it
// ("x_misp_sharing_group"): its identity and its member organisations.
type sharingGroup struct {
	UUID          string  `json:"uuid,omitempty"`
	Name          string  `json:"name,omitempty"`
	Description   string  `json:"description,omitempty"`
	Releasability string  `json:"releasability,omitempty"`
	Organisation  *org    `json:"organisation,omitempty"`
	Organisations []sgOrg `json:"organisations,omitempty"`
}

// org is a MISP organisation: its globally assigned uuid and its name.
type org struct {
	UUID string `json:"uuid,omitempty"`
	Name string `json:"name,omitempty"`
}

// sgOrg is a member of a sharing group.
type sgOrg struct {
	UUID   string `json:"uuid,omitempty"`
	Name   string `json:"name,omitempty"`
	Extend bool   `json:"extend,omitempty"`
}

func (s *sharingGroup) label() string {
	if s.Name != "" {
		return fmt.Sprintf("%q", s.Name)
	}
	return s.UUID
}

// scope is who may see one MISP element once it is a STIX object: a TLP
// level and, for the levels that name recipients, the organisations the
// element's distribution allows.
type scope struct {
	level stix.TLP
	// restricted is set when the distribution names who may see the
	// element (0: the owner only; 4: a sharing group): recipients, possibly
	// none, then narrow TLP:AMBER and stricter levels.
	restricted bool
	recipients []string
}

// validDistribution reports whether d is a MISP distribution level.
func validDistribution(d string) bool {
	return len(d) == 1 && d[0] >= '0' && d[0] <= '5'
}

// distLevel maps a distribution to its TLP level: 0 (your organisation
// only) and 4 (a sharing group) to AMBER, 1 (this community) and 2
// (connected communities) to GREEN, 3 (all communities) to CLEAR. 5
// (inherit) and no distribution have no level of their own.
func distLevel(d string) (stix.TLP, bool) {
	switch d {
	case "0", "4":
		return stix.TLPAmber, true
	case "1", "2":
		return stix.TLPGreen, true
	case "3":
		return stix.TLPClear, true
	}
	return stix.TLPNone, false
}

// tagLevel returns the strictest level among the tags of the MISP tlp
// taxonomy (tlp:white, tlp:clear, tlp:green, tlp:amber, tlp:amber+strict,
// tlp:red, in any case), or TLPNone. tlp:ex:chr and tlp:unclear are not
// levels.
func tagLevel(tags []string) stix.TLP {
	level := stix.TLPNone
	for _, t := range tags {
		name := strings.ToLower(strings.TrimSpace(t))
		rest, ok := strings.CutPrefix(name, "tlp:")
		if !ok {
			continue
		}
		switch rest {
		case "white", "clear", "green", "amber", "amber+strict", "red":
			if l, err := stix.ParseTLP(rest); err == nil && l > level {
				level = l
			}
		}
	}
	return level
}

// rootScope is the scope of an event: its tlp tag if it has one, else its
// distribution. A distribution of 0 or 4 also names the recipients.
func (b *builder) rootScope(tags []string, dist string, sg *sharingGroup) scope {
	var s scope
	if l := tagLevel(tags); l != stix.TLPNone {
		s.level = l
	} else if l, ok := distLevel(dist); ok {
		s.level = l
	}
	switch dist {
	case "0":
		s.restricted = true
	case "4":
		s.restricted = true
		s.recipients = b.members(sg)
	}
	return s
}

// childScope is the scope of an element (attribute, object, attribute of
// an object, custom galaxy cluster) inside parent p: its own tlp tag wins;
// without one, its own distribution (0 to 4) can only narrow what it
// inherits, and 5 (inherit) or none keeps the parent's.
func (b *builder) childScope(p scope, tags []string, dist string, sg *sharingGroup) scope {
	s := p
	s.recipients = slices.Clone(p.recipients)
	if l := tagLevel(tags); l != stix.TLPNone {
		s.level = l
	} else if l, ok := distLevel(dist); ok && l > s.level {
		s.level = l
	}
	switch dist {
	case "0":
		s.restricted = true
		s.recipients = nil
	case "4":
		m := b.members(sg)
		if p.restricted {
			m = intersect(p.recipients, m)
		}
		s.restricted = true
		s.recipients = m
	}
	return s
}

// strictest returns the scope that only those in both a and c may see.
func strictest(a, c scope) scope {
	s := scope{level: max(a.level, c.level)}
	switch {
	case a.restricted && c.restricted:
		s.restricted, s.recipients = true, intersect(a.recipients, c.recipients)
	case a.restricted:
		s.restricted, s.recipients = true, slices.Clone(a.recipients)
	case c.restricted:
		s.restricted, s.recipients = true, slices.Clone(c.recipients)
	}
	return s
}

// loosest returns the scope of an observable that several elements name:
// the least restrictive level among them (an unmarked one counts as AMBER),
// shared with every recipient of the elements at that level. The address
// itself is no more secret than its most open mention.
func loosest(all []scope) scope {
	rank := func(l stix.TLP) int {
		if l == stix.TLPNone {
			return int(stix.TLPAmber)
		}
		return int(l)
	}
	best := all[0]
	for _, s := range all[1:] {
		if rank(s.level) < rank(best.level) || (rank(s.level) == rank(best.level) && best.level == stix.TLPNone) {
			best = s
		}
	}
	out := scope{level: best.level}
	for _, s := range all {
		if rank(s.level) == rank(best.level) {
			for _, r := range s.emitted() {
				if !slices.Contains(out.recipients, r) {
					out.recipients = append(out.recipients, r)
				}
			}
		}
	}
	out.restricted = len(out.recipients) > 0
	return out
}

// emitted returns the recipients the STIX object names: only TLP:AMBER and
// stricter levels name recipients.
func (s scope) emitted() []string {
	if s.level < stix.TLPAmber || !s.restricted {
		return nil
	}
	return s.recipients
}

// mark sets o's TLP marking and recipients from s.
func mark(o *stix.Object, s scope) {
	o.Delete("object_marking_refs")
	if s.level != stix.TLPNone {
		set(o, "object_marking_refs", []string{s.level.ID()})
	}
	if r := s.emitted(); len(r) > 0 {
		if err := o.SetExtension(stix.SharingExtensionID, "property-extension", map[string]any{"recipients": r}); err != nil {
			panic(err)
		}
	}
}

// members maps the organisations of a sharing group to the node's
// identities, reporting those the node does not know.
func (b *builder) members(sg *sharingGroup) []string {
	if sg == nil {
		b.skip("distribution 4 (sharing group) without a sharing group: no recipients")
		return nil
	}
	var out []string
	for _, o := range sg.Organisations {
		id, ok := "", false
		if b.opts.Orgs != nil {
			id, ok = b.opts.Orgs(o.Name, o.UUID)
		}
		if !ok || !stix.IsID(id) || stix.TypeOf(id) != "identity" {
			b.skip(fmt.Sprintf("sharing group %s: organisation %q (%s) is not an organisation of this node, so not a recipient", sg.label(), o.Name, o.UUID))
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func intersect(a, c []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(c, x) {
			out = append(out, x)
		}
	}
	return out
}
