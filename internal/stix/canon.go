package stix

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Canonicalize returns the RFC 8785 (JCS) canonical form of JSON data:
// object members sorted by the UTF-16 code units of their names, strings
// with only the escapes JSON requires, numbers as ECMAScript writes them,
// no white space. A node canonicalises every object it stores and every
// object whose signature it checks, so this runs on every object of a sync;
// it is a single pass over data, checked against the reference
// implementation (github.com/gowebpki/jcs) by a differential fuzz test.
func Canonicalize(data []byte) ([]byte, error) {
	c := canonicalizer{in: data, out: make([]byte, 0, len(data))}
	c.space()
	if err := c.value(0); err != nil {
		return nil, &SyntaxError{Msg: "cannot canonicalise: " + err.Error()}
	}
	c.space()
	if c.pos != len(c.in) {
		return nil, &SyntaxError{Msg: fmt.Sprintf("cannot canonicalise: data after the JSON value at byte %d", c.pos)}
	}
	return c.out, nil
}

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 1000

type canonicalizer struct {
	in  []byte
	pos int
	out []byte
}

func (c *canonicalizer) space() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonicalizer) errorf(format string, args ...any) error {
	return fmt.Errorf("byte %d: %s", c.pos, fmt.Sprintf(format, args...))
}

func (c *canonicalizer) value(depth int) error {
	if depth > maxDepth {
		return c.errorf("nested deeper than %d", maxDepth)
	}
	if c.pos >= len(c.in) {
		return c.errorf("unexpected end of input")
	}
	switch b := c.in[c.pos]; {
	case b == '{':
		return c.object(depth)
	case b == '[':
		return c.array(depth)
	case b == '"':
		s, err := c.str()
		if err != nil {
			return err
		}
		c.out = appendString(c.out, s)
		return nil
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number()
	default:
		return c.errorf("unexpected %q", b)
	}
}

func (c *canonicalizer) literal(lit string) error {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(lit)) {
		return c.errorf("invalid literal")
	}
	c.pos += len(lit)
	c.out = append(c.out, lit...)
	return nil
}

// number validates a JSON number and writes it as ECMAScript would.
func (c *canonicalizer) number() error {
	start := c.pos
	i := c.pos
	if c.in[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(c.in) && c.in[i] >= '0' && c.in[i] <= '9' {
			i++
			n++
		}
		return n
	}
	intStart := i
	if n := digits(); n == 0 || (n > 1 && c.in[intStart] == '0') {
		c.pos = start
		return c.errorf("invalid number")
	}
	integer := true
	if i < len(c.in) && c.in[i] == '.' {
		i++
		integer = false
		if digits() == 0 {
			c.pos = start
			return c.errorf("invalid number")
		}
	}
	if i < len(c.in) && (c.in[i] == 'e' || c.in[i] == 'E') {
		i++
		integer = false
		if i < len(c.in) && (c.in[i] == '+' || c.in[i] == '-') {
			i++
		}
		if digits() == 0 {
			c.pos = start
			return c.errorf("invalid number")
		}
	}
	tok := c.in[start:i]
	c.pos = i
	// Integers of up to 15 digits are exact as doubles and print as written
	// (but for "-0").
	if integer && i-intStart <= 15 {
		if string(tok) == "-0" {
			c.out = append(c.out, '0')
		} else {
			c.out = append(c.out, tok...)
		}
		return nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return c.errorf("number %s: %v", tok, err)
	}
	s, err := jcs.NumberToJSON(f)
	if err != nil {
		return c.errorf("number %s: %v", tok, err)
	}
	c.out = append(c.out, s...)
	return nil
}

// str reads a JSON string at c.pos and returns its decoded bytes (which
// may alias the input when it holds no escape).
func (c *canonicalizer) str() ([]byte, error) {
	c.pos++ // the opening quote
	start := c.pos
	for c.pos < len(c.in) {
		b := c.in[c.pos]
		switch {
		case b == '"':
			s := c.in[start:c.pos]
			c.pos++
			return s, nil
		case b == '\\':
			return c.escapedStr(start)
		case b < 0x20:
			return nil, c.errorf("control character in a string")
		}
		c.pos++
	}
	return nil, c.errorf("unterminated string")
}

// escapedStr decodes a string that holds escapes, from start.
func (c *canonicalizer) escapedStr(start int) ([]byte, error) {
	buf := append([]byte(nil), c.in[start:c.pos]...)
	for c.pos < len(c.in) {
		b := c.in[c.pos]
		switch {
		case b == '"':
			c.pos++
			return buf, nil
		case b < 0x20:
			return nil, c.errorf("control character in a string")
		case b != '\\':
			buf = append(buf, b)
			c.pos++
			continue
		}
		if c.pos+1 >= len(c.in) {
			return nil, c.errorf("unterminated escape")
		}
		e := c.in[c.pos+1]
		c.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := c.hex4()
			if err != nil {
				return nil, err
			}
			if utf16.IsSurrogate(r) {
				if c.pos+1 >= len(c.in) || c.in[c.pos] != '\\' || c.in[c.pos+1] != 'u' {
					return nil, c.errorf("missing low surrogate")
				}
				c.pos += 2
				lo, err := c.hex4()
				if err != nil {
					return nil, err
				}
				r = utf16.DecodeRune(r, lo)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, c.errorf("invalid escape \\%c", e)
		}
	}
	return nil, c.errorf("unterminated string")
}

func (c *canonicalizer) hex4() (rune, error) {
	if c.pos+4 > len(c.in) {
		return 0, c.errorf("short \\u escape")
	}
	n, err := strconv.ParseUint(string(c.in[c.pos:c.pos+4]), 16, 32)
	if err != nil {
		return 0, c.errorf("invalid \\u escape")
	}
	c.pos += 4
	return rune(n), nil
}

// appendString writes s as JCS does: the two-character escapes for
// \\ " \b \f \n \r \t, \u00xx for the other control characters, every
// other byte as it is.
func appendString(out, s []byte) []byte {
	out = append(out, '"')
	for _, b := range s {
		switch b {
		case '\\', '"':
			out = append(out, '\\', b)
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			if b < 0x20 {
				out = append(out, '\\', 'u', '0', '0', hexDigit[b>>4], hexDigit[b&0xf])
			} else {
				out = append(out, b)
			}
		}
	}
	return append(out, '"')
}

const hexDigit = "0123456789abcdef"

func (c *canonicalizer) array(depth int) error {
	c.pos++
	c.out = append(c.out, '[')
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		c.out = append(c.out, ']')
		return nil
	}
	for first := true; ; first = false {
		if !first {
			c.out = append(c.out, ',')
		}
		c.space()
		if err := c.value(depth + 1); err != nil {
			return err
		}
		c.space()
		if c.pos >= len(c.in) {
			return c.errorf("unterminated array")
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
		case ']':
			c.pos++
			c.out = append(c.out, ']')
			return nil
		default:
			return c.errorf("expected , or ] in an array")
		}
	}
}

type member struct {
	key        []byte
	start, end int // the value's canonical bytes in the object's scratch
}

func (c *canonicalizer) object(depth int) error {
	c.pos++
	objStart := len(c.out)
	var members []member
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		c.out = append(c.out, '{', '}')
		return nil
	}
	for {
		c.space()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return c.errorf("expected a member name")
		}
		key, err := c.str()
		if err != nil {
			return err
		}
		c.space()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return c.errorf("expected : after a member name")
		}
		c.pos++
		c.space()
		start := len(c.out)
		if err := c.value(depth + 1); err != nil {
			return err
		}
		members = append(members, member{key: key, start: start - objStart, end: len(c.out) - objStart})
		c.space()
		if c.pos >= len(c.in) {
			return c.errorf("unterminated object")
		}
		if c.in[c.pos] == ',' {
			c.pos++
			continue
		}
		if c.in[c.pos] != '}' {
			return c.errorf("expected , or } in an object")
		}
		c.pos++
		break
	}
	slices.SortStableFunc(members, func(a, b member) int { return compareUTF16(a.key, b.key) })
	for i := 1; i < len(members); i++ {
		if compareUTF16(members[i-1].key, members[i].key) == 0 {
			return c.errorf("duplicate member name %q", members[i].key)
		}
	}
	scratch := slices.Clone(c.out[objStart:])
	c.out = append(c.out[:objStart], '{')
	for i, m := range members {
		if i > 0 {
			c.out = append(c.out, ',')
		}
		c.out = appendString(c.out, m.key)
		c.out = append(c.out, ':')
		c.out = append(c.out, scratch[m.start:m.end]...)
	}
	c.out = append(c.out, '}')
	return nil
}

// compareUTF16 orders member names by their UTF-16 code units, as JCS
// asks; for names in ASCII that is byte order.
func compareUTF16(a, b []byte) int {
	ascii := true
	for _, x := range [][]byte{a, b} {
		for _, ch := range x {
			if ch >= utf8.RuneSelf {
				ascii = false
			}
		}
	}
	if ascii {
		return bytes.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(string(a))), utf16.Encode([]rune(string(b))))
}
