package cms

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits of the BER reader (kassenapi spec A2.6 "BER input is normal").
const (
	// MaxInput is the largest message the reader accepts.
	MaxInput = 4 << 20
	// MaxDepth is the deepest nesting of constructed values the reader accepts.
	MaxDepth = 32
)

// ASN.1 classes and universal tags used by the reader.
const (
	classUniversal   = 0
	classContext     = 2
	tagInteger       = 2
	tagOctetString   = 4
	tagNull          = 5
	tagOID           = 6
	tagSequence      = 16
	tagSet           = 17
	tagUTCTime       = 23
	tagGeneralizedTm = 24
)

// errBER is wrapped by every structural decoding error.
var errBER = errors.New("cms: malformed BER")

// node is one decoded TLV. Primitive nodes carry their content bytes;
// constructed nodes carry their children. raw is the complete encoding as
// received (header, content and end-of-contents octets).
type node struct {
	class       int
	constructed bool
	tag         int
	content     []byte
	children    []*node
	raw         []byte
}

// parseBER decodes exactly one value that must fill all of b.
//
// REQ: kassenapi-spec:A2.6
func parseBER(b []byte) (*node, error) {
	if len(b) > MaxInput {
		return nil, fmt.Errorf("%w: input of %d bytes exceeds %d", errBER, len(b), MaxInput)
	}
	n, rest, err := parseNode(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBER, len(rest))
	}
	return n, nil
}

func parseNode(b []byte, depth int) (*node, []byte, error) {
	if depth > MaxDepth {
		return nil, nil, fmt.Errorf("%w: nesting deeper than %d", errBER, MaxDepth)
	}
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%w: truncated header", errBER)
	}
	start := b
	n := &node{class: int(b[0] >> 6), constructed: b[0]&0x20 != 0, tag: int(b[0] & 0x1f)}
	i := 1
	if n.tag == 0x1f { // high tag number form
		n.tag = 0
		for {
			if i >= len(b) || i > 4 {
				return nil, nil, fmt.Errorf("%w: bad tag", errBER)
			}
			c := b[i]
			i++
			n.tag = n.tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return nil, nil, fmt.Errorf("%w: truncated length", errBER)
	}
	l := int(b[i])
	i++
	if l == 0x80 { // indefinite length
		if !n.constructed {
			return nil, nil, fmt.Errorf("%w: indefinite length on a primitive value", errBER)
		}
		rest := b[i:]
		for {
			if len(rest) < 2 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", errBER)
			}
			if rest[0] == 0 && rest[1] == 0 {
				rest = rest[2:]
				break
			}
			c, r, err := parseNode(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			n.children = append(n.children, c)
			rest = r
		}
		n.raw = start[:len(start)-len(rest)]
		return n, rest, nil
	}
	if l > 0x80 {
		nb := l & 0x7f
		if nb > 4 || i+nb > len(b) {
			return nil, nil, fmt.Errorf("%w: bad length", errBER)
		}
		l = 0
		for _, c := range b[i : i+nb] {
			l = l<<8 | int(c)
		}
		i += nb
	}
	if l < 0 || l > len(b)-i {
		return nil, nil, fmt.Errorf("%w: length %d exceeds the remaining input", errBER, l)
	}
	body := b[i : i+l]
	n.raw = b[:i+l]
	if n.constructed {
		rest := body
		for len(rest) > 0 {
			c, r, err := parseNode(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			n.children = append(n.children, c)
			rest = r
		}
	} else {
		n.content = body
	}
	return n, b[i+l:], nil
}

// is reports whether n has the given class and tag.
func (n *node) is(class, tag int) bool { return n != nil && n.class == class && n.tag == tag }

// octets returns the content of an OCTET STRING (or an IMPLICIT-tagged one)
// in either primitive or constructed (chunked) form.
func (n *node) octets() ([]byte, error) {
	if !n.constructed {
		return n.content, nil
	}
	var buf bytes.Buffer
	if err := n.appendOctets(&buf, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (n *node) appendOctets(buf *bytes.Buffer, depth int) error {
	for _, c := range n.children {
		if !c.is(classUniversal, tagOctetString) {
			return fmt.Errorf("%w: constructed OCTET STRING with a non-OCTET STRING chunk", errBER)
		}
		if c.constructed {
			if err := c.appendOctets(buf, depth+1); err != nil {
				return err
			}
			continue
		}
		buf.Write(c.content)
	}
	return nil
}

// der re-encodes n with definite lengths. Constructed universal OCTET
// STRINGs become primitive.
func (n *node) der() []byte {
	if n.constructed && n.is(classUniversal, tagOctetString) {
		b, err := n.octets()
		if err == nil {
			return encodeTLV(byte(classUniversal<<6), tagOctetString, b)
		}
	}
	first := byte(n.class << 6)
	if !n.constructed {
		return encodeTLV(first, n.tag, n.content)
	}
	var body []byte
	for _, c := range n.children {
		body = append(body, c.der()...)
	}
	return encodeTLV(first|0x20, n.tag, body)
}

// Normalize converts a BER encoding (indefinite lengths, chunked OCTET
// STRINGs, non-minimal lengths) into definite-length form. Chunked
// IMPLICIT-tagged strings keep their constructed form because their type
// is not known without the schema.
func Normalize(ber []byte) ([]byte, error) {
	n, err := parseBER(ber)
	if err != nil {
		return nil, err
	}
	return n.der(), nil
}

// encodeTLV writes one definite-length TLV. first holds class and
// constructed bits.
func encodeTLV(first byte, tag int, content []byte) []byte {
	var out []byte
	if tag < 31 {
		out = append(out, first|byte(tag))
	} else {
		out = append(out, first|0x1f)
		var t []byte
		for v := tag; ; v >>= 7 {
			t = append([]byte{byte(v & 0x7f)}, t...)
			if v < 0x80 {
				break
			}
		}
		for i := 0; i < len(t)-1; i++ {
			t[i] |= 0x80
		}
		out = append(out, t...)
	}
	out = appendLength(out, len(content))
	return append(out, content...)
}

func appendLength(out []byte, l int) []byte {
	switch {
	case l < 0x80:
		return append(out, byte(l))
	case l < 0x100:
		return append(out, 0x81, byte(l))
	case l < 0x10000:
		return append(out, 0x82, byte(l>>8), byte(l))
	case l < 0x1000000:
		return append(out, 0x83, byte(l>>16), byte(l>>8), byte(l))
	default:
		return append(out, 0x84, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
}
