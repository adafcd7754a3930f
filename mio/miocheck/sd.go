package miocheck

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrNoFHIRData means the data directory holds no MIO StructureDefinitions.
var ErrNoFHIRData = errors.New("miocheck: FHIR data not found")

type discriminator struct{ typ, path string }

type element struct {
	id        string
	segs      []string // id split into name[:slice] segments
	min       int      // -1 = not constrained here
	max       string   // "" = not constrained here
	fixed     *node    // fixed[x] or pattern[x] element
	isPattern bool
	types     []string
	profiles  []string // type.profile (extension URLs)
	targets   []string // type.targetProfile
	slicing   []discriminator
	rules     string
	binding   string // required ValueSet canonical
}

type structureDef struct {
	url      string // canonical|version
	typ      string
	baseURL  string
	base     *structureDef
	elements []*element
	byID     map[string]*element
}

// splitID splits an element id into segments (slice names hold no dots).
func splitID(id string) []string { return strings.Split(id, ".") }

func loadSD(n *node) *structureDef {
	sd := &structureDef{byID: map[string]*element{}}
	sd.url = n.val("url")
	if v := n.val("version"); v != "" {
		sd.url += "|" + v
	}
	sd.typ = n.val("type")
	sd.baseURL = n.val("baseDefinition")
	diff := n.child("differential")
	if diff == nil {
		return sd
	}
	for _, en := range diff.all("element") {
		e := &element{min: -1}
		for _, c := range en.children {
			switch {
			case c.name == "path":
			case c.name == "min":
				e.min, _ = strconv.Atoi(c.value)
			case c.name == "max":
				e.max = c.value
			case c.name == "type":
				e.types = append(e.types, c.val("code"))
				for _, p := range c.all("profile") {
					e.profiles = append(e.profiles, p.value)
				}
				for _, p := range c.all("targetProfile") {
					e.targets = append(e.targets, p.value)
				}
			case c.name == "binding":
				if c.val("strength") == "required" {
					e.binding = c.val("valueSet")
				}
			case c.name == "slicing":
				for _, d := range c.all("discriminator") {
					e.slicing = append(e.slicing, discriminator{d.val("type"), d.val("path")})
				}
				e.rules = c.val("rules")
			case strings.HasPrefix(c.name, "fixed"):
				e.fixed = c
			case strings.HasPrefix(c.name, "pattern"):
				e.fixed, e.isPattern = c, true
			}
		}
		e.id = attrID(en)
		if e.id == "" {
			continue
		}
		e.segs = splitID(e.id)
		sd.elements = append(sd.elements, e)
		sd.byID[e.id] = e
	}
	return sd
}

func attrID(en *node) string { return en.id }

var (
	loadMu    sync.Mutex
	loadCache = map[string]*Checker{}
)

// Load reads every StructureDefinition and ValueSet (FHIR XML and JSON)
// below dataDir and returns a Checker. The MIO DiGA 1.1.0 profiles must be
// present. A Checker is immutable and safe for concurrent use; Load caches
// it per directory.
func Load(dataDir string) (*Checker, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	if c := loadCache[dataDir]; c != nil {
		return c, nil
	}
	c, err := load(dataDir)
	if err != nil {
		return nil, err
	}
	loadCache[dataDir] = c
	return c, nil
}

// maxVSFile skips huge SNOMED CT ValueSets (bindings to them stay
// unchecked).
const maxVSFile = 1 << 20

func load(dataDir string) (*Checker, error) {
	c := &Checker{sds: map[string]*structureDef{}, vss: map[string]*valueSet{}}
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasSuffix(path, ".json") && (strings.Contains(filepath.Base(path), "_PR_") || strings.Contains(filepath.Base(path), "_VS_")) {
			if info, err := d.Info(); err == nil && info.Size() > maxVSFile {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if vs := loadJSONValueSet(data); vs != nil {
				c.addVS(vs)
				return nil
			}
			if sd, err := loadJSONSD(data); err == nil && sd != nil {
				c.sds[sd.url] = sd
				if _, ok := c.sds[strings.Split(sd.url, "|")[0]]; !ok {
					c.sds[strings.Split(sd.url, "|")[0]] = sd
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".xml") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := parse(f)
		if err == nil && n != nil && n.name == "ValueSet" {
			c.addVS(loadXMLValueSet(n))
			return nil
		}
		if err != nil || n == nil || n.name != "StructureDefinition" {
			return nil
		}
		sd := loadSD(n)
		if sd.url != "" {
			c.sds[sd.url] = sd
		}
		return nil
	})
	if err != nil {
		return nil, ErrNoFHIRData
	}
	if c.sds[profileBase+"KBV_PR_MIO_DIGA_Bundle|1.1.0"] == nil {
		return nil, ErrNoFHIRData
	}
	for _, sd := range c.sds {
		if strings.HasPrefix(sd.url, mioPrefix) {
			sd.base = c.sds[sd.baseURL]
		}
	}
	return c, nil
}

// lookup finds an element by id in the profile or its base snapshot.
func (sd *structureDef) lookup(id string) *element {
	if e := sd.byID[id]; e != nil {
		return e
	}
	if sd.base != nil {
		return sd.base.byID[id]
	}
	return nil
}

func (c *Checker) addVS(vs *valueSet) {
	c.vss[vs.url] = vs
	if base := strings.Split(vs.url, "|")[0]; c.vss[base] == nil {
		c.vss[base] = vs
	}
}
