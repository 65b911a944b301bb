package intel

import (
	"context"
	"slices"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/stix"
)

// Commentary is a note or an opinion on an object, as a viewer may see it.
type Commentary struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// On is the object it is on, of those asked about; About, when that
	// object is a relationship, its type ("attributed-to").
	On    string `json:"on"`
	About string `json:"about,omitempty"`
	// Title and Text are a note's abstract and content, or an opinion's
	// verdict ("agree") and explanation.
	Title string `json:"title,omitempty"`
	Text  string `json:"text,omitempty"`
	TLP   string `json:"tlp"`
	Owner string `json:"owner"`
}

// CommentaryOn returns the current notes and opinions v may see that are
// on id or on a relationship whose source or target id is, oldest first.
// Markings decide who sees each: an organisation's own assessment, kept
// TLP:AMBER, is its own. The AMBER and RED ones returned are logged as read.
func (s *Service) CommentaryOn(ctx context.Context, v access.Viewer, id string) ([]Commentary, error) {
	var out []Commentary
	var used []*Record
	rels := map[string]string{} // relationship id: its type if it touches id, "" if not
	about := func(ref string) (string, bool, error) {
		if ref == id {
			return "", true, nil
		}
		if stix.TypeOf(ref) != "relationship" {
			return "", false, nil
		}
		typ, seen := rels[ref]
		if !seen {
			err := s.scan(ctx, v, Query{IDs: []string{ref}, Latest: true, ExcludeRevoked: true}, func(r *Record) error {
				o, err := s.views.object(r)
				if err != nil {
					return err
				}
				if o.String("source_ref") == id || o.String("target_ref") == id {
					typ = o.String("relationship_type")
				}
				return nil
			})
			if err != nil {
				return "", false, err
			}
			rels[ref] = typ
		}
		return typ, typ != "", nil
	}
	err := s.scan(ctx, v, Query{Types: []string{"note", "opinion"}, Latest: true, ExcludeRevoked: true}, func(r *Record) error {
		o, err := s.views.object(r)
		if err != nil {
			return err
		}
		for _, ref := range o.Strings("object_refs") {
			what, ok, err := about(ref)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			c := Commentary{ID: o.ID, Type: o.Type, On: ref, About: what, Title: o.String("abstract"), Text: o.String("content"),
				TLP: tlpName(r.TLP), Owner: r.Owner}
			if o.Type == "opinion" {
				c.Title, c.Text = o.String("opinion"), o.String("explanation")
			}
			out = append(out, c)
			used = append(used, r)
			return nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.auditReads(ctx, v, used, "commentary"); err != nil {
		return nil, err
	}
	return slices.Clip(out), nil
}
