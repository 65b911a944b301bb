package stix

import (
	"encoding/json"
	"fmt"
	"strings"
)

// TLP is a Traffic Light Protocol 2.0 level. Levels are ordered from the
// least to the most restrictive, so the stricter of two is the larger.
type TLP int

// The TLP 2.0 levels. TLPNone means the object carries no TLP marking;
// access rules treat it as TLP:AMBER.
const (
	TLPNone TLP = iota
	TLPClear
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

// The official TLP 2.0 marking definition ids, published by OASIS with the
// TLP 2.0 extension definition.
const (
	TLPClearID       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	TLPGreenID       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	TLPAmberID       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	TLPAmberStrictID = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	TLPRedID         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

	// TLP2ExtensionID is the OASIS extension definition the TLP 2.0 marking
	// definitions use.
	TLP2ExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
)

// Older marking ids that stand for a TLP 2.0 level: the STIX 2.1 TLP 1.0
// marking definitions, and the ids OpenCTI uses for the levels TLP 1.0 does
// not have (OpenCTI's TLP:CLEAR reuses the TLP 1.0 WHITE id).
const (
	TLP1WhiteID          = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	TLP1GreenID          = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	TLP1AmberID          = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	TLP1RedID            = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
	OpenCTIAmberStrictID = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
	OpenCTIClearID       = TLP1WhiteID
)

var tlpByID = map[string]TLP{
	TLPClearID:           TLPClear,
	TLPGreenID:           TLPGreen,
	TLPAmberID:           TLPAmber,
	TLPAmberStrictID:     TLPAmberStrict,
	TLPRedID:             TLPRed,
	TLP1WhiteID:          TLPClear,
	TLP1GreenID:          TLPGreen,
	TLP1AmberID:          TLPAmber,
	TLP1RedID:            TLPRed,
	OpenCTIAmberStrictID: TLPAmberStrict,
}

var tlpNames = [...]string{"", "clear", "green", "amber", "amber+strict", "red"}

var tlpIDs = [...]string{"", TLPClearID, TLPGreenID, TLPAmberID, TLPAmberStrictID, TLPRedID}

// String returns the level's lower-case name ("amber+strict"), or "none".
func (t TLP) String() string {
	if t <= TLPNone || int(t) >= len(tlpNames) {
		return "none"
	}
	return tlpNames[t]
}

// Label returns the level as TLP 2.0 writes it ("TLP:AMBER+STRICT").
func (t TLP) Label() string {
	if t == TLPNone {
		return "none"
	}
	return "TLP:" + strings.ToUpper(t.String())
}

// ID returns the official TLP 2.0 marking definition id of the level, or ""
// for TLPNone.
func (t TLP) ID() string {
	if t <= TLPNone || int(t) >= len(tlpIDs) {
		return ""
	}
	return tlpIDs[t]
}

// ParseTLP parses a level name as users write it: "clear", "white" (TLP
// 1.0), "green", "amber", "amber+strict", "red", with or without a "TLP:"
// prefix, in any case.
func ParseTLP(s string) (TLP, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	name = strings.TrimPrefix(name, "tlp:")
	switch name {
	case "clear", "white":
		return TLPClear, nil
	case "green":
		return TLPGreen, nil
	case "amber":
		return TLPAmber, nil
	case "amber+strict", "amber-strict", "amber_strict":
		return TLPAmberStrict, nil
	case "red":
		return TLPRed, nil
	}
	return TLPNone, fmt.Errorf("unknown TLP level %q (want clear, green, amber, amber+strict or red)", s)
}

// TLPOf returns the TLP level a marking definition id stands for, mapping
// TLP 1.0 and OpenCTI ids to their TLP 2.0 level.
func TLPOf(markingID string) (TLP, bool) {
	t, ok := tlpByID[markingID]
	return t, ok
}

// CanonicalMarkingID maps a TLP 1.0 or OpenCTI TLP marking id to the
// official TLP 2.0 id of the same level; any other id is returned unchanged.
func CanonicalMarkingID(id string) string {
	if t, ok := tlpByID[id]; ok {
		return t.ID()
	}
	return id
}

// MarkingRefs returns every marking definition the object cites: its
// "object_marking_refs" and the "marking_ref" of each granular marking, in
// order of appearance, without duplicates.
func (o *Object) MarkingRefs() []string {
	var refs []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			refs = append(refs, id)
		}
	}
	for _, id := range o.Strings("object_marking_refs") {
		add(id)
	}
	var gms []struct {
		MarkingRef string `json:"marking_ref"`
	}
	if _, err := o.Decode("granular_markings", &gms); err == nil {
		for _, gm := range gms {
			add(gm.MarkingRef)
		}
	}
	return refs
}

// TLP returns the strictest TLP level among the markings the object cites,
// or TLPNone if it cites none. Granular markings count too: a node cannot
// serve part of an object, so the strictest part decides.
func (o *Object) TLP() TLP {
	level := TLPNone
	for _, id := range o.MarkingRefs() {
		if t, ok := tlpByID[id]; ok && t > level {
			level = t
		}
	}
	return level
}

// NormalizeMarkings rewrites TLP 1.0 and OpenCTI TLP marking ids in the
// object's "object_marking_refs" and granular markings to the TLP 2.0 ids.
// It reports whether anything changed.
func (o *Object) NormalizeMarkings() (bool, error) {
	changed := false
	if refs := o.Strings("object_marking_refs"); refs != nil {
		out := make([]string, 0, len(refs))
		seen := map[string]bool{}
		for _, id := range refs {
			c := CanonicalMarkingID(id)
			if c != id {
				changed = true
			}
			if seen[c] {
				changed = true
				continue
			}
			seen[c] = true
			out = append(out, c)
		}
		if changed {
			if err := o.Set("object_marking_refs", out); err != nil {
				return false, err
			}
		}
	}
	var gms []map[string]json.RawMessage
	if ok, err := o.Decode("granular_markings", &gms); ok && err == nil {
		gmChanged := false
		for _, gm := range gms {
			var ref string
			if json.Unmarshal(gm["marking_ref"], &ref) != nil {
				continue
			}
			if c := CanonicalMarkingID(ref); c != ref {
				gm["marking_ref"] = mustRaw(c)
				gmChanged = true
			}
		}
		if gmChanged {
			changed = true
			if err := o.Set("granular_markings", gms); err != nil {
				return false, err
			}
		}
	}
	return changed, nil
}

// TLPMarkingDefinitions returns the five TLP 2.0 marking definitions as
// OASIS publishes them, from TLP:CLEAR to TLP:RED.
func TLPMarkingDefinitions() []*Object {
	out := make([]*Object, 0, 5)
	for t := TLPClear; t <= TLPRed; t++ {
		o := New("marking-definition", t.ID())
		_ = o.Set("spec_version", "2.1")
		_ = o.Set("created", "2022-10-01T00:00:00.000Z")
		_ = o.Set("name", t.Label())
		_ = o.Set("extensions", map[string]any{
			TLP2ExtensionID: map[string]string{
				"extension_type": "property-extension",
				"tlp_2_0":        t.String(),
			},
		})
		out = append(out, o)
	}
	return out
}
