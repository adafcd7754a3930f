package miocheck

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// jsonSD is the subset of a FHIR JSON StructureDefinition the checker
// reads (KBV Basis and de.basisprofil ship JSON with snapshots).
type jsonSD struct {
	ResourceType string `json:"resourceType"`
	URL          string `json:"url"`
	Version      string `json:"version"`
	Type         string `json:"type"`
	Base         string `json:"baseDefinition"`
	Snapshot     struct {
		Element []map[string]json.RawMessage `json:"element"`
	} `json:"snapshot"`
}

func loadJSONSD(data []byte) (*structureDef, error) {
	var j jsonSD
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	if j.ResourceType != "StructureDefinition" || len(j.Snapshot.Element) == 0 {
		return nil, nil
	}
	sd := &structureDef{url: j.URL, typ: j.Type, baseURL: j.Base, byID: map[string]*element{}}
	if j.Version != "" {
		sd.url += "|" + j.Version
	}
	for _, m := range j.Snapshot.Element {
		e := &element{min: -1}
		var id string
		_ = json.Unmarshal(m["id"], &id)
		if id == "" {
			continue
		}
		e.id = id
		e.segs = splitID(id)
		if raw, ok := m["min"]; ok {
			_ = json.Unmarshal(raw, &e.min)
		}
		if raw, ok := m["max"]; ok {
			_ = json.Unmarshal(raw, &e.max)
		}
		var types []struct {
			Code          string   `json:"code"`
			Profile       []string `json:"profile"`
			TargetProfile []string `json:"targetProfile"`
		}
		if raw, ok := m["type"]; ok {
			_ = json.Unmarshal(raw, &types)
		}
		for _, t := range types {
			e.types = append(e.types, t.Code)
			e.profiles = append(e.profiles, t.Profile...)
			e.targets = append(e.targets, t.TargetProfile...)
		}
		var binding struct{ Strength, ValueSet string }
		if raw, ok := m["binding"]; ok {
			_ = json.Unmarshal(raw, &binding)
			if binding.Strength == "required" {
				e.binding = binding.ValueSet
			}
		}
		var slicing struct {
			Discriminator []struct{ Type, Path string } `json:"discriminator"`
			Rules         string                        `json:"rules"`
		}
		if raw, ok := m["slicing"]; ok {
			_ = json.Unmarshal(raw, &slicing)
			for _, d := range slicing.Discriminator {
				e.slicing = append(e.slicing, discriminator{d.Type, d.Path})
			}
			e.rules = slicing.Rules
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.HasPrefix(k, "fixed") || strings.HasPrefix(k, "pattern") {
				e.fixed = jsonToNode(k, m[k])
				e.isPattern = strings.HasPrefix(k, "pattern")
			}
		}
		sd.elements = append(sd.elements, e)
		sd.byID[id] = e
	}
	return sd, nil
}

// jsonToNode converts a FHIR JSON value into the XML-like node form used
// by the matcher.
func jsonToNode(name string, raw json.RawMessage) *node {
	n := &node{name: name}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return n
	}
	fill(n, v)
	return n
}

func fill(n *node, v any) {
	switch t := v.(type) {
	case string:
		n.value, n.hasValue = t, true
	case json.Number:
		n.value, n.hasValue = t.String(), true
	case bool:
		n.value, n.hasValue = strconv.FormatBool(t), true
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "url" && n.name == "extension" {
				n.url = fmt.Sprint(t[k])
				continue
			}
			switch c := t[k].(type) {
			case []any:
				for _, item := range c {
					cn := &node{name: k}
					fill(cn, item)
					n.children = append(n.children, cn)
				}
			default:
				cn := &node{name: k}
				fill(cn, c)
				n.children = append(n.children, cn)
			}
		}
	}
}
