package stix

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Bundle is a STIX bundle: a wrapper around a list of objects, with no
// meaning of its own beyond the transport.
type Bundle struct {
	// ID is the bundle's id, "bundle--" and a UUID.
	ID string
	// Objects are the bundle's objects in the order given.
	Objects []*Object

	props map[string]json.RawMessage // every property but "objects"
}

// NewBundle returns a bundle with a fresh random id around objs.
func NewBundle(objs []*Object) *Bundle {
	id := NewID("bundle")
	return &Bundle{
		ID:      id,
		Objects: objs,
		props: map[string]json.RawMessage{
			"type": mustRaw("bundle"),
			"id":   mustRaw(id),
		},
	}
}

// ParseBundle decodes a STIX bundle. It checks the bundle's own shape (type,
// id, objects as a list of JSON objects with a type and an id); each object
// is then checked by [Validate].
func ParseBundle(data []byte) (*Bundle, error) {
	var props map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&props); err != nil {
		return nil, &SyntaxError{Msg: jsonErrorText(err)}
	}
	if dec.More() {
		return nil, &SyntaxError{Msg: "data after the JSON object"}
	}
	if props == nil {
		return nil, &SyntaxError{Msg: "not a JSON object"}
	}
	b := &Bundle{props: props}
	var typ string
	if err := json.Unmarshal(props["type"], &typ); err != nil || typ != "bundle" {
		return nil, &SyntaxError{Msg: `not a bundle: "type" must be "bundle"`}
	}
	if err := json.Unmarshal(props["id"], &b.ID); err != nil {
		return nil, &SyntaxError{Msg: `bundle has no string "id"`}
	}
	if err := checkID(b.ID, "bundle"); err != nil {
		return nil, &SyntaxError{Msg: "bundle " + err.Error()}
	}
	raw, ok := props["objects"]
	delete(props, "objects")
	if !ok {
		return b, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, &SyntaxError{Msg: `bundle "objects" is not a list`}
	}
	b.Objects = make([]*Object, 0, len(items))
	for i, item := range items {
		var op map[string]json.RawMessage
		if err := json.Unmarshal(item, &op); err != nil || op == nil {
			return nil, &SyntaxError{Msg: fmt.Sprintf("objects[%d] is not a JSON object", i)}
		}
		o, err := fromProps(op)
		if err != nil {
			return nil, &SyntaxError{Msg: fmt.Sprintf("objects[%d]: %s", i, err.(*SyntaxError).Msg)}
		}
		b.Objects = append(b.Objects, o)
	}
	return b, nil
}

// MarshalJSON encodes the bundle with its properties in sorted order. A
// bundle with no objects has no "objects" property, as the specification
// asks.
func (b *Bundle) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(b.props)+1)
	for k, v := range b.props {
		m[k] = v
	}
	if len(b.Objects) > 0 {
		m["objects"] = b.Objects
	}
	return json.Marshal(m)
}

// Canonical returns the RFC 8785 canonical JSON of the bundle.
func (b *Bundle) Canonical() ([]byte, error) {
	data, err := b.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return Canonicalize(data)
}
