package miocheck

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
)

// node is a parsed FHIR XML element: its local name, namespace, the value
// attribute (primitives), the url attribute (extensions) and children.
type node struct {
	name     string
	space    string
	value    string
	hasValue bool
	url      string
	id       string
	children []*node
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// val returns the value of the child primitive at the dotted path.
func (n *node) val(path ...string) string {
	cur := n
	for _, p := range path {
		if cur = cur.child(p); cur == nil {
			return ""
		}
	}
	return cur.value
}

const maxDepth = 200

// parse reads one XML document into a tree. encoding/xml does not
// resolve DTDs or external entities; directives are rejected.
func parse(r io.Reader) (*node, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, space: t.Name.Space}
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "value":
					if a.Name.Space == "" {
						n.value, n.hasValue = a.Value, true
					}
				case "url":
					if a.Name.Space == "" {
						n.url = a.Value
					}
				case "id":
					if a.Name.Space == "" {
						n.id = a.Value
					}
				}
			}
			if len(stack) >= maxDepth {
				return nil, errors.New("nesting too deep")
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && len(bytes.TrimSpace(t)) > 0 && stack[len(stack)-1].space == fhirNS {
				return nil, errors.New("text content in a FHIR element")
			}
		case xml.Directive:
			return nil, errors.New("DTD or directive not allowed")
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	return root, nil
}
