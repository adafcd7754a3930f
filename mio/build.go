package mio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/digakit/digakit/mio/internal/xmlw"
)

// Document is one planned MIO bundle. Its bytes are produced by WriteTo,
// identically on every call; Size is their exact length.
type Document struct {
	// Index and Count give the position in the split (0-based) and the
	// number of documents of the Build.
	Index, Count int
	// Period is this document's Betrachtungszeitraum.
	Period Period
	// BundleUUID is the lower-case Bundle id; the identifier value is
	// "urn:uuid:"+BundleUUID.
	BundleUUID string
	// Timestamp is Bundle.timestamp (shared by all documents of a Build).
	Timestamp time.Time
	// Size is the exact byte length WriteTo produces.
	Size int64
	// Entries is the number of Bundle entries.
	Entries int
	// Metadata are the ePA upload metadata suggestions for epa/.
	Metadata DocumentMetadata

	b        *builder
	clusters []int
	ctx      context.Context
}

// DocumentMetadata are ePA XDS metadata suggestions for one document
// (gematik ig-diga_V_1_1).
type DocumentMetadata struct {
	FormatCode   Code      `json:"formatCode"`
	ClassCode    Code      `json:"classCode"`
	TypeCode     Code      `json:"typeCode"`
	FolderCode   Code      `json:"folderCode"`
	MimeType     string    `json:"mimeType"`
	Title        string    `json:"title"`
	ServiceStart time.Time `json:"serviceStartTime"`
	ServiceStop  time.Time `json:"serviceStopTime"`
	CreationTime time.Time `json:"creationTime"`
	Size         int64     `json:"size"`
}

// item is one entry with its planned identity.
type item struct {
	e       Entry
	id      string // bare uuid
	when    time.Time
	last    time.Time // latest event time (effective period end)
	sec     int
	vital   bool
	cluster int
	agent   string // provenance group key
	qKey    string // questionnaire key, for responses
	device  string // measuring device id
}

type cluster struct {
	items   []int
	key     time.Time
	size    int64 // entries + section refs + provenance targets
	shared  []string
	headIdx int
}

type sharedRes struct {
	size int64 // resource entry plus, for questionnaires, the section reference
}

type builder struct {
	x           *Export
	o           resolvedOptions
	ts          time.Time
	created     time.Time
	patientID   string
	digaID      string
	digaDefID   string
	manufID     string
	items       []item
	clusters    []cluster
	devices     map[string][2]string // id → device uuid, definition uuid
	deviceDefs  map[string]*MeasuringDevice
	quests      map[string]*QuestionnaireDef
	questID     map[string]string
	shared      map[string]sharedRes
	baseSize    int64
	sectionUsed [numSections]bool
	vitalUsed   bool
	measurers   map[int]*measurer
}

// Build validates x and plans one or more MIO DiGA 1.1.0 documents. It
// returns a *ValidationError with all input problems, or the documents,
// each ready to be streamed with WriteTo.
//
// REQ: mio-spec:3.1, mio-spec:3.5, mio-spec:3.7
func Build(ctx context.Context, x Export, o Options) ([]*Document, error) {
	var is issues
	ro := resolveOptions(o, &is)
	if x.Source != nil {
		if len(x.Entries) > 0 {
			is.add("Source", ErrConfig, "give either Entries or Source, not both")
			return nil, is.err()
		}
		if err := x.Source.Each(ctx, func(e Entry) error {
			x.Entries = append(x.Entries, e)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("mio: entry source: %w", err)
		}
	}
	validateExport(&x, ro, &is)
	if err := is.err(); err != nil {
		return nil, err
	}
	b := &builder{x: &x, o: ro, ts: ro.now}
	b.created = x.Created
	if b.created.IsZero() {
		b.created = ro.now
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mio: build: %w", err)
	}
	b.assignIDs()
	b.makeClusters()
	if err := b.measure(ctx); err != nil {
		return nil, err
	}
	docs, err := b.pack(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		// Exact size without a full serialisation: the frame plus the
		// clusters measured at their depth (WriteTo verifies it).
		size, err := d.frameSize(ctx)
		if err != nil {
			return nil, err
		}
		for _, ci := range d.clusters {
			size += b.clusters[ci].size
		}
		d.Size = size
		d.Metadata.Size = size
		if d.Size > ro.MaxBytes {
			return nil, fmt.Errorf("%w: document %d exceeds MaxBytes after planning", ErrInternal, d.Index)
		}
	}
	return docs, nil
}

func (b *builder) uuid(name string) string { return NewUUIDv5(b.o.Namespace, name).String() }

func (b *builder) assignIDs() {
	x := b.x
	b.patientID = b.uuid("patient/" + x.Patient.SourceID)
	b.digaID = b.uuid("device-diga/" + x.DiGA.VEID)
	b.digaDefID = b.uuid("devicedefinition-diga/" + x.DiGA.VEID)
	if x.DiGA.Manufacturer != nil {
		b.manufID = b.uuid("manufacturer/" + x.DiGA.Manufacturer.Name)
	}
	b.devices = map[string][2]string{}
	b.deviceDefs = map[string]*MeasuringDevice{}
	for i := range x.Devices {
		d := &x.Devices[i]
		b.devices[d.ID] = [2]string{b.uuid("device/" + d.ID), b.uuid("devicedefinition/" + d.ID)}
		b.deviceDefs[d.ID] = d
	}
	b.quests = map[string]*QuestionnaireDef{}
	b.questID = map[string]string{}
	b.items = make([]item, len(x.Entries))
	for i, e := range x.Entries {
		c := e.common()
		it := item{e: e, id: b.uuid(string(e.Kind()) + "/" + c.SourceID), when: e.when()}
		it.last = it.when
		switch v := e.(type) {
		case *FreeObservation:
			it.last = v.Effective.end()
		case *DiaryEntry:
			it.last = v.Effective.end()
		case *FunctionalAssessment:
			it.last = v.Effective.end()
		case *LifeStyleFactor:
			it.last = v.Effective.end()
		case *EnvironmentalFactor:
			it.last = v.Effective.end()
		case *NutritionIntake:
			it.last = v.Effective.end()
		case *Activity:
			it.last = v.Performed.end()
		case *MedicationIntake:
			it.last = v.Effective.end()
		case *Encounter:
			it.last = v.Period.End
		case *QuestionnaireResponse:
			key := v.Questionnaire.URL + "|" + v.Questionnaire.Version
			if _, ok := b.quests[key]; !ok {
				b.quests[key] = &v.Questionnaire
				b.questID[key] = b.uuid("questionnaire/" + key)
			}
			it.qKey = key
		case *Glucose:
			it.device = v.Device
		case *BloodPressure:
			it.device = v.Device
		case interface{ measurement() *Measurement }:
			it.device = v.measurement().Device
		}
		it.sec, it.vital = sectionOf(e.Kind())
		switch c.RecordedBy.Kind {
		case ActorDiGA:
			it.agent = "diga"
		case ActorDevice:
			it.agent = "device:" + c.RecordedBy.Device
		default:
			it.agent = "patient"
		}
		b.items[i] = it
		b.sectionUsed[it.sec] = true
		if it.vital {
			b.vitalUsed = true
		}
	}
	if len(b.quests) > 0 {
		b.sectionUsed[secFrageboegen] = true
	}
}

// makeClusters joins entries linked by references (union-find), so that
// every reference resolves inside each document.
func (b *builder) makeClusters() {
	parent := make([]int, len(b.items))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	index := map[entryKey]int{}
	for i, it := range b.items {
		index[entryKey{it.e.Kind(), it.e.common().SourceID}] = i
	}
	union := func(i int, r Ref) {
		if j, ok := index[entryKey{r.Kind, r.SourceID}]; ok {
			a, c := find(i), find(j)
			if a != c {
				parent[a] = c
			}
		}
	}
	for i, it := range b.items {
		switch v := it.e.(type) {
		case *DiaryEntry:
			for _, r := range v.Members {
				union(i, r)
			}
		case *Score:
			if v.DerivedFrom != nil {
				union(i, *v.DerivedFrom)
			}
		case *LifeStyleFactor:
			for _, r := range v.Members {
				union(i, r)
			}
		case *EnvironmentalFactor:
			for _, r := range v.Members {
				union(i, r)
			}
		case *Problem:
			if v.Recorder != nil {
				union(i, *v.Recorder)
			}
		case *Allergy:
			if v.Recorder != nil {
				union(i, *v.Recorder)
			}
		case *PractitionerRole:
			union(i, Ref{KindPractitioner, v.Practitioner})
			union(i, Ref{KindOrganization, v.Organization})
		case *MedicationIntake:
			if v.Statement != "" {
				union(i, Ref{KindMedicationStatement, v.Statement})
			}
		case *CarePlan:
			for _, r := range v.Goals {
				union(i, r)
			}
		case *Appointment:
			for _, r := range v.Participants {
				union(i, r)
			}
		case *Encounter:
			for _, r := range v.Participants {
				union(i, r)
			}
			if v.ServiceProvider != "" {
				union(i, Ref{KindOrganization, v.ServiceProvider})
			}
		}
	}
	byRoot := map[int]int{}
	for i := range b.items {
		r := find(i)
		ci, ok := byRoot[r]
		if !ok {
			ci = len(b.clusters)
			byRoot[r] = ci
			b.clusters = append(b.clusters, cluster{headIdx: i})
		}
		c := &b.clusters[ci]
		c.items = append(c.items, i)
		b.items[i].cluster = ci
	}
	for ci := range b.clusters {
		c := &b.clusters[ci]
		c.key = b.items[c.items[0]].when
		for _, i := range c.items {
			if b.items[i].when.Before(c.key) {
				c.key = b.items[i].when
				c.headIdx = i
			}
		}
		seen := map[string]bool{}
		for _, i := range c.items {
			it := &b.items[i]
			if med := medicationOf(it.e); med != "" && !seen["m:"+med] {
				seen["m:"+med] = true
				c.shared = append(c.shared, "m:"+med)
			}
			if it.qKey != "" && !seen["q:"+it.qKey] {
				seen["q:"+it.qKey] = true
				c.shared = append(c.shared, "q:"+it.qKey)
			}
			devs := []string{it.device}
			if strings.HasPrefix(it.agent, "device:") {
				devs = append(devs, strings.TrimPrefix(it.agent, "device:"))
			}
			for _, d := range devs {
				if _, ok := b.devices[d]; ok && !seen["d:"+d] {
					seen["d:"+d] = true
					c.shared = append(c.shared, "d:"+d)
				}
			}
		}
		sort.Strings(c.shared)
	}
	sort.SliceStable(b.clusters, func(i, j int) bool {
		a, c := &b.clusters[i], &b.clusters[j]
		if !a.key.Equal(c.key) {
			return a.key.Before(c.key)
		}
		ha, hc := &b.items[a.headIdx], &b.items[c.headIdx]
		if ha.sec != hc.sec {
			return ha.sec < hc.sec
		}
		if ha.e.Kind() != hc.e.Kind() {
			return kindOrder[ha.e.Kind()] < kindOrder[hc.e.Kind()]
		}
		return ha.e.common().SourceID < hc.e.common().SourceID
	})
	for ci := range b.clusters {
		for _, i := range b.clusters[ci].items {
			b.items[i].cluster = ci
		}
	}
}

// countWriter counts bytes and forwards them.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = fmt.Errorf("mio: write at byte %d: %w", c.n, err)
		return n, c.err
	}
	return n, nil
}

// measurer is an encoder primed at a fixed element depth; successive
// measurements at that depth produce exactly the bytes the real document
// has there.
type measurer struct {
	cw *countWriter
	w  *rw
}

// measureAt returns the exact bytes fn writes at the given element depth.
func (b *builder) measureAt(depth int, fn func(w *rw)) int64 {
	if b.measurers == nil {
		b.measurers = map[int]*measurer{}
	}
	m := b.measurers[depth]
	if m == nil {
		cw := &countWriter{w: io.Discard}
		m = &measurer{cw: cw, w: &rw{Writer: xmlw.New(cw, b.o.Indent), b: b}}
		for i := 0; i < depth; i++ {
			m.w.Start("x")
		}
		_ = m.w.Flush()
		b.measurers[depth] = m
	}
	start := m.cw.n
	fn(m.w)
	_ = m.w.Flush()
	return m.cw.n - start
}

// sectionDepth is the element depth of a section entry reference.
func sectionDepth(vital bool) int {
	if vital {
		return 6 // Bundle entry resource Composition section section
	}
	return 5
}

func (b *builder) measure(ctx context.Context) error {
	provTarget := b.measureAt(4, func(w *rw) { w.ref("target", "00000000-0000-0000-0000-000000000000") })
	for ci := range b.clusters {
		if ci%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("mio: build: %w", err)
			}
		}
		c := &b.clusters[ci]
		for _, i := range c.items {
			it := &b.items[i]
			c.size += b.measureAt(1, func(w *rw) { w.entryResource(it) })
			c.size += b.measureAt(sectionDepth(it.vital), func(w *rw) { w.ref("entry", it.id) })
			switch {
			case !provenanceTarget(it.e) || b.o.Provenance == ProvenanceNone:
			case b.o.Provenance == ProvenancePerEntry:
				g := b.entryProvenance(it)
				c.size += b.measureAt(1, func(w *rw) { w.provenance(g) })
			default:
				c.size += provTarget
			}
		}
	}
	b.shared = map[string]sharedRes{}
	for key, q := range b.quests {
		id := b.questID[key]
		sz := b.measureAt(1, func(w *rw) { w.questionnaire(id, q) })
		sz += b.measureAt(5, func(w *rw) { w.ref("entry", id) })
		b.shared["q:"+key] = sharedRes{size: sz}
	}
	for i := range b.x.Medications {
		m := &b.x.Medications[i]
		sz := b.measureAt(1, func(w *rw) { w.medication(m) })
		b.shared["m:"+m.SourceID] = sharedRes{size: sz}
	}
	for id := range b.devices {
		d := b.deviceDefs[id]
		sz := b.measureAt(1, func(w *rw) { w.measuringDevice(d) })
		b.shared["d:"+id] = sharedRes{size: sz}
	}
	// Base overhead: a document with every used section header, the
	// fixed shared resources and every provenance skeleton, no entries.
	skeleton := &Document{b: b, Index: 0, Count: 1, Period: b.x.Period, BundleUUID: b.uuid("bundle/" + b.x.ExportID + "/0"), Timestamp: b.ts}
	cw := &countWriter{w: io.Discard}
	if err := skeleton.writeWith(ctx, cw, true); err != nil {
		return err
	}
	// Margin for what the skeleton cannot know yet: index digits, and
	// milliseconds in period ends and Provenance.recorded (4 bytes each).
	agents := map[string]bool{}
	for i := range b.items {
		agents[b.items[i].agent] = true
	}
	b.baseSize = cw.n + 64 + 8*int64(len(agents))
	return nil
}

func provenanceTarget(e Entry) bool {
	_, isAttachment := e.(*Attachment)
	return !isAttachment
}

// pack distributes clusters greedily (spec §3.6), cutting only between
// different time keys.
//
// REQ: mio-spec:2.9, mio-spec:3.6
func (b *builder) pack(ctx context.Context) ([]*Document, error) {
	limit := b.o.MaxBytes
	if b.baseSize >= limit {
		var is issues
		is.add("Options.MaxBytes", ErrConfig, "smaller than the document overhead")
		return nil, is.err()
	}
	type group struct{ from, to int }
	var groups []group
	for ci := 0; ci < len(b.clusters); {
		j := ci + 1
		for j < len(b.clusters) && b.clusters[j].key.Equal(b.clusters[ci].key) {
			j++
		}
		groups = append(groups, group{ci, j})
		ci = j
	}
	var docsClusters [][]int
	var monthStarts []bool // whether document i+1 starts at a month cut
	var cur []int
	curSize := b.baseSize
	curShared := map[string]bool{}
	groupCost := func(g group, have map[string]bool) int64 {
		var s int64
		seen := map[string]bool{}
		for ci := g.from; ci < g.to; ci++ {
			s += b.clusters[ci].size
			for _, k := range b.clusters[ci].shared {
				if !have[k] && !seen[k] {
					seen[k] = true
					s += b.shared[k].size
				}
			}
		}
		return s
	}
	var is issues
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mio: build: %w", err)
		}
		cost := groupCost(g, curShared)
		monthCut := false
		if b.o.Partition == PartitionCalendarMonth && len(cur) > 0 {
			monthCut = monthStart(b.clusters[cur[len(cur)-1]].key, b.o.Location) != monthStart(b.clusters[g.from].key, b.o.Location)
		}
		if !monthCut && curSize+cost <= limit {
			for ci := g.from; ci < g.to; ci++ {
				cur = append(cur, ci)
				for _, k := range b.clusters[ci].shared {
					curShared[k] = true
				}
			}
			curSize += cost
			continue
		}
		fresh := groupCost(g, nil)
		if b.baseSize+fresh > limit {
			head := b.clusters[g.from].headIdx
			is.add(entryPath(head, b.items[head].e), ErrEntryTooLarge, "entry (with its linked entries) exceeds MaxBytes")
			continue
		}
		if len(cur) > 0 {
			docsClusters = append(docsClusters, cur)
			monthStarts = append(monthStarts, monthCut)
		}
		cur = nil
		curShared = map[string]bool{}
		for ci := g.from; ci < g.to; ci++ {
			cur = append(cur, ci)
			for _, k := range b.clusters[ci].shared {
				curShared[k] = true
			}
		}
		curSize = b.baseSize + fresh
	}
	if err := is.err(); err != nil {
		return nil, err
	}
	if len(cur) > 0 {
		docsClusters = append(docsClusters, cur)
	}
	n := len(docsClusters)
	docs := make([]*Document, n)
	for i, cl := range docsClusters {
		d := &Document{b: b, Index: i, Count: n, clusters: cl, Timestamp: b.ts, ctx: ctx}
		d.BundleUUID = b.uuid(fmt.Sprintf("bundle/%s/%d", b.x.ExportID, i))
		boundary := func(k int) time.Time { // start of document k > 0
			if monthStarts[k-1] {
				return monthStart(b.clusters[docsClusters[k][0]].key, b.o.Location)
			}
			return b.clusters[docsClusters[k][0]].key
		}
		start := b.x.Period.Start
		if i > 0 {
			start = boundary(i)
		}
		end := b.x.Period.End
		if i < n-1 {
			end = boundary(i + 1)
			for _, ci := range cl {
				for _, ii := range b.clusters[ci].items {
					if l := b.items[ii].last; l.After(end) {
						end = l
					}
				}
			}
		}
		d.Period = Period{Start: start, End: end}
		d.Entries = d.countEntries()
		d.Metadata = DocumentMetadata{
			FormatCode: FormatCodeDiGA11, ClassCode: ClassCodeDUR, TypeCode: TypeCodePATD, FolderCode: FolderCodeDiGA,
			MimeType:     MimeTypeFHIRXML,
			Title:        fmt.Sprintf("DiGA-Export %s %s - %s", strings.TrimSpace(b.x.DiGA.Name), start.In(b.o.Location).Format("2006-01-02"), end.In(b.o.Location).Format("2006-01-02")),
			ServiceStart: start.UTC(), ServiceStop: end.UTC(), CreationTime: b.ts.UTC(),
		}
		docs[i] = d
	}
	return docs, nil
}

// docContent is the resolved content of one document.
type docContent struct {
	sharedN   [numSections]int // leading shared references per section
	items     []int
	meds      []string
	quests    []string
	devices   []string
	sections  [numSections][]string // entry uuids per section (non-vital)
	vital     []string
	provenace []provGroup
}

type provGroup struct {
	key      string
	id       string
	targets  []string
	recorded time.Time
}

func (d *Document) content(skeleton bool) *docContent {
	b := d.b
	c := &docContent{}
	if skeleton {
		for s := range b.sectionUsed {
			if b.sectionUsed[s] {
				c.sections[s] = []string{}
			}
		}
		return c
	}
	qs, ds := map[string]bool{}, map[string]bool{}
	for _, ci := range d.clusters {
		c.items = append(c.items, b.clusters[ci].items...)
		for _, k := range b.clusters[ci].shared {
			if strings.HasPrefix(k, "q:") && !qs[k[2:]] {
				qs[k[2:]] = true
				c.quests = append(c.quests, k[2:])
			}
			if strings.HasPrefix(k, "m:") && !ds[k] {
				ds[k] = true
				c.meds = append(c.meds, k[2:])
			}
			if strings.HasPrefix(k, "d:") && !ds[k[2:]] {
				ds[k[2:]] = true
				c.devices = append(c.devices, k[2:])
			}
		}
	}
	sort.Slice(c.items, func(i, j int) bool {
		a, e := &b.items[c.items[i]], &b.items[c.items[j]]
		if a.sec != e.sec {
			return a.sec < e.sec
		}
		if a.vital != e.vital {
			return !a.vital
		}
		if !a.when.Equal(e.when) {
			return a.when.Before(e.when)
		}
		if a.e.Kind() != e.e.Kind() {
			return kindOrder[a.e.Kind()] < kindOrder[e.e.Kind()]
		}
		return a.e.common().SourceID < e.e.common().SourceID
	})
	sort.Slice(c.quests, func(i, j int) bool { return c.quests[i] < c.quests[j] })
	sort.Slice(c.meds, func(i, j int) bool { return b.uuid("medication/"+c.meds[i]) < b.uuid("medication/"+c.meds[j]) })
	sort.Slice(c.devices, func(i, j int) bool { return b.devices[c.devices[i]][0] < b.devices[c.devices[j]][0] })
	for _, k := range c.quests {
		c.sections[secFrageboegen] = append(c.sections[secFrageboegen], b.questID[k])
	}
	c.sharedN[secFrageboegen] = len(c.quests)
	groups := map[string]*provGroup{}
	for _, i := range c.items {
		it := &b.items[i]
		if it.vital {
			c.vital = append(c.vital, it.id)
		} else {
			c.sections[it.sec] = append(c.sections[it.sec], it.id)
		}
		if b.o.Provenance == ProvenanceNone || !provenanceTarget(it.e) {
			continue
		}
		if b.o.Provenance == ProvenancePerEntry {
			c.provenace = append(c.provenace, b.entryProvenance(it))
			continue
		}
		g := groups[it.agent]
		if g == nil {
			g = &provGroup{key: it.agent, id: b.uuid(fmt.Sprintf("provenance/%s/%d/%s", b.x.ExportID, d.Index, it.agent))}
			groups[it.agent] = g
		}
		g.targets = append(g.targets, it.id)
		rec := it.e.common().RecordedAt
		if rec.IsZero() {
			rec = it.when
		}
		if rec.After(g.recorded) {
			g.recorded = rec
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return agentOrder(keys[i]) < agentOrder(keys[j]) })
	for _, k := range keys {
		c.provenace = append(c.provenace, *groups[k])
	}
	return c
}

func agentOrder(k string) string {
	switch k {
	case "patient":
		return "0"
	case "diga":
		return "1"
	}
	return "2" + k
}

func (d *Document) countEntries() int {
	c := d.content(false)
	n := 4 + len(c.items) + len(c.quests) + len(c.meds) + 2*len(c.devices) + len(c.provenace)
	for _, i := range c.items {
		switch v := d.b.items[i].e.(type) {
		case *NutritionIntake:
			n += len(v.Composition)
		case *MedicationStatement:
			if v.TreatmentGoal != nil {
				n++
			}
		}
	}
	if d.b.manufID != "" {
		n++
	}
	return n
}

// WriteTo streams the document; every call yields the same bytes. It
// checks the Build context between entries.
func (d *Document) WriteTo(w io.Writer) (int64, error) {
	ctx := d.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return d.WriteToContext(ctx, w)
}

// WriteToContext is WriteTo with an explicit context.
func (d *Document) WriteToContext(ctx context.Context, w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	err := d.write(ctx, cw)
	if err == nil && cw.n != d.Size && d.Size != 0 {
		err = fmt.Errorf("%w: wrote %d bytes, planned %d", ErrInternal, cw.n, d.Size)
	}
	return cw.n, err
}

// Bytes returns the whole document (convenience for small documents).
func (d *Document) Bytes() ([]byte, error) {
	var sb strings.Builder
	sb.Grow(int(d.Size))
	if _, err := d.WriteTo(&sb); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

func (d *Document) write(ctx context.Context, w io.Writer) error {
	return d.writeWith(ctx, w, false)
}

// frameSize is the exact size of the document without its clusters.
func (d *Document) frameSize(ctx context.Context) (int64, error) {
	cw := &countWriter{w: io.Discard}
	err := d.writeMode(ctx, cw, false, true)
	return cw.n, err
}

func (d *Document) writeWith(ctx context.Context, out io.Writer, skeleton bool) error {
	return d.writeMode(ctx, out, skeleton, false)
}

func (d *Document) writeMode(ctx context.Context, out io.Writer, skeleton, frame bool) error {
	b := d.b
	bw := bufio.NewWriterSize(out, 64<<10)
	if _, err := bw.WriteString(xmlHeader); err != nil {
		return err
	}
	w := &rw{Writer: xmlw.New(bw, b.o.Indent), b: b, frame: frame}
	c := d.content(skeleton)
	compID := b.uuid(fmt.Sprintf("composition/%s/%d", b.x.ExportID, d.Index))
	w.Start("Bundle", "xmlns", fhirNS)
	w.Prim("id", d.BundleUUID)
	w.meta("1", b.ts, "Bundle")
	w.identifierRI(d.BundleUUID)
	w.Prim("type", "document")
	w.Prim("timestamp", w.instant(b.ts))
	w.entry(compID, func() { w.composition(d, compID, c, skeleton) })
	w.entry(b.patientID, w.patient)
	w.entry(b.digaID, w.deviceDiGA)
	w.entry(b.digaDefID, w.deviceDefinitionDiGA)
	if b.manufID != "" {
		w.entry(b.manufID, w.manufacturer)
	}
	for _, id := range c.devices {
		w.measuringDevice(b.deviceDefs[id])
	}
	for _, k := range c.quests {
		w.questionnaire(b.questID[k], b.quests[k])
	}
	for _, id := range c.meds {
		w.medication(b.medication(id))
	}
	for n, i := range c.items {
		if frame {
			break
		}
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("mio: write: %w", err)
			}
		}
		w.entryResource(&b.items[i])
	}
	if skeleton && b.o.Provenance == ProvenanceGrouped {
		agents := map[string]bool{}
		for i := range b.items {
			agents[b.items[i].agent] = true
		}
		keys := make([]string, 0, len(agents))
		for k := range agents {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.provenace = append(c.provenace, provGroup{key: k, id: "00000000-0000-0000-0000-000000000000", recorded: b.ts})
		}
	}
	for _, g := range c.provenace {
		if frame && b.o.Provenance == ProvenancePerEntry {
			break
		}
		w.provenance(g)
	}
	w.End()
	if err := w.Flush(); err != nil {
		return err
	}
	if err := w.Err(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return nil
}

const xmlHeader = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

func medicationOf(e Entry) string {
	switch v := e.(type) {
	case *MedicationStatement:
		return v.Medication
	case *MedicationIntake:
		return v.Medication
	}
	return ""
}

func (b *builder) medication(id string) *Medication {
	for i := range b.x.Medications {
		if b.x.Medications[i].SourceID == id {
			return &b.x.Medications[i]
		}
	}
	return nil
}

// entryProvenance is the Provenance of one entry (ProvenancePerEntry).
func (b *builder) entryProvenance(it *item) provGroup {
	rec := it.e.common().RecordedAt
	if rec.IsZero() {
		rec = it.when
	}
	return provGroup{key: it.agent, id: b.uuid("provenance/" + string(it.e.Kind()) + "/" + it.e.common().SourceID),
		targets: []string{it.id}, recorded: rec}
}

// monthStart returns the first instant of t's calendar month in loc.
func monthStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
}
