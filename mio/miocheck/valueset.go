package miocheck

import (
	"encoding/json"
	"strings"
)

// valueSet is an enumerated ValueSet: system → codes. complete is false
// when an include names a whole system or uses filters or other value
// sets; such bindings are not checked ("unchecked", spec §6.2).
type valueSet struct {
	url      string
	codes    map[string]map[string]bool
	complete bool
}

func newValueSet(url string) *valueSet {
	return &valueSet{url: url, codes: map[string]map[string]bool{}, complete: true}
}

func (v *valueSet) add(system, code string) {
	if v.codes[system] == nil {
		v.codes[system] = map[string]bool{}
	}
	v.codes[system][code] = true
}

// loadXMLValueSet reads the compose.include concepts of an XML ValueSet.
func loadXMLValueSet(n *node) *valueSet {
	url := n.val("url")
	if v := n.val("version"); v != "" {
		url += "|" + v
	}
	vs := newValueSet(url)
	compose := n.child("compose")
	if compose == nil {
		vs.complete = false
		return vs
	}
	for _, inc := range compose.all("include") {
		sys := inc.val("system")
		concepts := inc.all("concept")
		if len(concepts) == 0 || inc.child("filter") != nil || inc.child("valueSet") != nil {
			vs.complete = false
		}
		for _, c := range concepts {
			vs.add(sys, c.val("code"))
		}
	}
	if compose.child("exclude") != nil {
		vs.complete = false
	}
	return vs
}

type jsonVS struct {
	ResourceType string `json:"resourceType"`
	URL          string `json:"url"`
	Version      string `json:"version"`
	Compose      *struct {
		Include []struct {
			System   string                  `json:"system"`
			Concept  []struct{ Code string } `json:"concept"`
			Filter   []json.RawMessage       `json:"filter"`
			ValueSet []string                `json:"valueSet"`
		} `json:"include"`
		Exclude []json.RawMessage `json:"exclude"`
	} `json:"compose"`
}

func loadJSONValueSet(data []byte) *valueSet {
	var j jsonVS
	if err := json.Unmarshal(data, &j); err != nil || j.ResourceType != "ValueSet" {
		return nil
	}
	url := j.URL
	if j.Version != "" {
		url += "|" + j.Version
	}
	vs := newValueSet(url)
	if j.Compose == nil || len(j.Compose.Exclude) > 0 {
		vs.complete = false
		return vs
	}
	for _, inc := range j.Compose.Include {
		if len(inc.Concept) == 0 || len(inc.Filter) > 0 || len(inc.ValueSet) > 0 {
			vs.complete = false
		}
		for _, c := range inc.Concept {
			vs.add(inc.System, c.Code)
		}
	}
	return vs
}

// contains reports whether a Coding/CodeableConcept/code node is in the
// value set; for a CodeableConcept one coding suffices.
func (v *valueSet) contains(n *node) bool {
	switch {
	case n.hasValue && n.child("system") == nil && len(n.children) == 0:
		for _, codes := range v.codes {
			if codes[n.value] {
				return true
			}
		}
		return false
	case n.child("coding") != nil:
		for _, c := range n.all("coding") {
			if v.contains(c) {
				return true
			}
		}
		return false
	case n.child("code") != nil:
		return v.codes[n.val("system")][n.val("code")]
	}
	// CodeableConcept with text only: nothing to check.
	return true
}

func (c *Checker) valueSet(url string) *valueSet {
	if vs := c.vss[url]; vs != nil {
		return vs
	}
	return c.vss[strings.Split(url, "|")[0]]
}
