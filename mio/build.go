package mio

import (
	"bufio"
	"context"
	"errors"
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

// item is one entry with its planned identity. With Export.Entries the
// entry itself is kept; with Export.Source only this plan record is kept
// and WriteTo reads the entry again.
type item struct {
	e       Entry // nil in source mode
	kind    Kind
	sid     string // SourceID
	id      string // bare uuid
	when    time.Time
	last    time.Time // latest event time (effective period end)
	recAt   time.Time // Provenance.recorded
	sec     int
	vital   bool
	cluster int
	agent   string // provenance group key
	qKey    string // questionnaire key, for responses
	device  string // measuring device id
	med     string // medication SourceID
	refs    []Ref  // links that join clusters
	extra   int    // further Bundle entries (food composition, treatment goal)
	provTgt bool   // may be a Provenance target
	resSize int64  // bytes of its Bundle entries
	size    int64  // resSize + section reference + Provenance share
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

	provTargetSize int64
	source         bool // entries are re-read from Export.Source
	count          int  // number of entries
}

// Build validates x and plans one or more MIO DiGA 1.1.0 documents. It
// returns a *ValidationError with all input problems, or the documents,
// each ready to be streamed with WriteTo.
//
// REQ: mio-spec:3.1, mio-spec:3.5, mio-spec:3.7
func Build(ctx context.Context, x Export, o Options) ([]*Document, error) {
	var is issues
	ro := resolveOptions(o, &is)
	if x.Source != nil && len(x.Entries) > 0 {
		is.add("Source", ErrConfig, "give either Entries or Source, not both")
		return nil, is.err()
	}
	b := &builder{x: &x, o: ro, ts: ro.now, source: x.Source != nil}
	b.created = x.Created
	if b.created.IsZero() {
		b.created = ro.now
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mio: build: %w", err)
	}
	if !b.source {
		validateExport(&x, ro, &is)
		if err := is.err(); err != nil {
			return nil, err
		}
		b.assignBase()
		b.items = make([]item, 0, len(x.Entries))
		for i, e := range x.Entries {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("mio: build: %w", err)
				}
			}
			b.addItem(e, true)
		}
		b.count = len(x.Entries)
	} else if err := b.planSource(ctx, &is); err != nil {
		return nil, err
	}
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

func (b *builder) assignBase() {
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
	b.provTargetSize = b.measureAt(4, func(w *rw) { w.ref("target", "00000000-0000-0000-0000-000000000000") })
}

// addItem plans one entry: identity, times, section, links, and its exact
// serialised size.
func (b *builder) addItem(e Entry, keep bool) {
	c := e.common()
	it := item{e: e, kind: e.Kind(), sid: c.SourceID,
		id: b.uuid(string(e.Kind()) + "/" + c.SourceID), when: e.when(), provTgt: provenanceTarget(e)}
	it.last = it.when
	it.recAt = c.RecordedAt
	if it.recAt.IsZero() {
		it.recAt = it.when
	}
	switch v := e.(type) {
	case *FreeObservation:
		it.last = v.Effective.end()
	case *DiaryEntry:
		it.last = v.Effective.end()
		it.refs = append(it.refs, v.Members...)
	case *FunctionalAssessment:
		it.last = v.Effective.end()
	case *LifeStyleFactor:
		it.last = v.Effective.end()
		it.refs = append(it.refs, v.Members...)
	case *EnvironmentalFactor:
		it.last = v.Effective.end()
		it.refs = append(it.refs, v.Members...)
	case *NutritionIntake:
		it.last = v.Effective.end()
		it.extra = len(v.Composition)
	case *Activity:
		it.last = v.Performed.end()
	case *MedicationIntake:
		it.last = v.Effective.end()
		it.med = v.Medication
		if v.Statement != "" {
			it.refs = append(it.refs, Ref{KindMedicationStatement, v.Statement})
		}
	case *MedicationStatement:
		it.med = v.Medication
		if v.TreatmentGoal != nil {
			it.extra = 1
		}
	case *Encounter:
		it.last = v.Period.End
		it.refs = append(it.refs, v.Participants...)
		if v.ServiceProvider != "" {
			it.refs = append(it.refs, Ref{KindOrganization, v.ServiceProvider})
		}
	case *Score:
		if v.DerivedFrom != nil {
			it.refs = append(it.refs, *v.DerivedFrom)
		}
	case *Problem:
		if v.Recorder != nil {
			it.refs = append(it.refs, *v.Recorder)
		}
	case *Allergy:
		if v.Recorder != nil {
			it.refs = append(it.refs, *v.Recorder)
		}
	case *PractitionerRole:
		it.refs = append(it.refs, Ref{KindPractitioner, v.Practitioner}, Ref{KindOrganization, v.Organization})
	case *CarePlan:
		it.refs = append(it.refs, v.Goals...)
	case *Appointment:
		it.refs = append(it.refs, v.Participants...)
	case *QuestionnaireResponse:
		key := v.Questionnaire.URL + "|" + v.Questionnaire.Version
		if _, ok := b.quests[key]; !ok {
			b.quests[key] = copyQuestionnaire(&v.Questionnaire)
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
	it.sec, it.vital = sectionOf(it.kind)
	switch c.RecordedBy.Kind {
	case ActorDiGA:
		it.agent = "diga"
	case ActorDevice:
		it.agent = "device:" + c.RecordedBy.Device
	default:
		it.agent = "patient"
	}
	// Exact sizes at the depth where the bytes go.
	it.resSize = b.measureAt(1, func(w *rw) { w.entryResource(&it) })
	it.size = it.resSize + b.measureAt(sectionDepth(it.vital), func(w *rw) { w.ref("entry", it.id) })
	switch {
	case !it.provTgt || b.o.Provenance == ProvenanceNone:
	case b.o.Provenance == ProvenancePerEntry:
		g := b.entryProvenance(&it)
		it.size += b.measureAt(1, func(w *rw) { w.provenance(g) })
	default:
		it.size += b.provTargetSize
	}
	if !keep {
		it.e = nil
	}
	b.items = append(b.items, it)
	b.sectionUsed[it.sec] = true
	if it.vital {
		b.vitalUsed = true
	}
	if it.qKey != "" {
		b.sectionUsed[secFrageboegen] = true
	}
}

// copyQuestionnaire keeps a private copy (a source may reuse its memory).
func copyQuestionnaire(q *QuestionnaireDef) *QuestionnaireDef {
	c := *q
	if q.Code != nil {
		code := *q.Code
		c.Code = &code
	}
	c.Items = make([]Item, len(q.Items))
	for i, it := range q.Items {
		it.AnswerOptions = append([]Coding(nil), it.AnswerOptions...)
		c.Items[i] = it
	}
	return &c
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
	index := make(map[entryKey]int, len(b.items))
	for i := range b.items {
		index[entryKey{b.items[i].kind, b.items[i].sid}] = i
	}
	for i := range b.items {
		for _, r := range b.items[i].refs {
			if j, ok := index[entryKey{r.Kind, r.SourceID}]; ok {
				if a, c := find(i), find(j); a != c {
					parent[a] = c
				}
			}
		}
		b.items[i].refs = nil
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
	}
	for ci := range b.clusters {
		c := &b.clusters[ci]
		c.key = b.items[c.items[0]].when
		seen := map[string]bool{}
		for _, i := range c.items {
			it := &b.items[i]
			c.size += it.size
			if it.when.Before(c.key) {
				c.key = it.when
				c.headIdx = i
			}
			if it.med != "" && !seen["m:"+it.med] {
				seen["m:"+it.med] = true
				c.shared = append(c.shared, "m:"+it.med)
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
		if ha.kind != hc.kind {
			return kindOrder[ha.kind] < kindOrder[hc.kind]
		}
		return ha.sid < hc.sid
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
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mio: build: %w", err)
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
			is.add(fmt.Sprintf("Entries[%d](%s)", head, kindTypeName(b.items[head].kind)), ErrEntryTooLarge, "entry (with its linked entries) exceeds MaxBytes")
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
			FormatCode: b.o.Spec.FormatCode, ClassCode: b.o.Spec.ClassCode, TypeCode: b.o.Spec.TypeCode, FolderCode: b.o.Spec.FolderCode,
			MimeType:     b.o.Spec.MimeType,
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
		if a.kind != e.kind {
			return kindOrder[a.kind] < kindOrder[e.kind]
		}
		return a.sid < e.sid
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
		if b.o.Provenance == ProvenanceNone || !it.provTgt {
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
		if it.recAt.After(g.recorded) {
			g.recorded = it.recAt
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
		n += d.b.items[i].extra
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
	inner := &countWriter{w: bw}
	w := &rw{Writer: xmlw.New(inner, b.o.Indent), b: b, frame: frame}
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
	if b.source && !frame && !skeleton {
		if err := d.writeFromSource(ctx, w, inner, c); err != nil {
			return err
		}
	}
	for n, i := range c.items {
		if frame || b.source {
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
	return provGroup{key: it.agent, id: b.uuid("provenance/" + string(it.kind) + "/" + it.sid),
		targets: []string{it.id}, recorded: it.recAt}
}

// monthStart returns the first instant of t's calendar month in loc.
func monthStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
}

// ErrSourceChanged means an EntrySource yielded different entries (count,
// order, ids or serialised size) than when the documents were planned.
var ErrSourceChanged = errors.New("mio: entry source changed between passes")

// planSource reads Export.Source twice: pass 1 indexes the keys, pass 2
// validates every entry and keeps only its plan record (spec §3.7).
func (b *builder) planSource(ctx context.Context, is *issues) error {
	x := b.x
	devices, medications := validateHeader(x, &b.o, is)
	v := newEntryValidator(x, &b.o, is, devices, medications)
	n := 0
	if err := x.Source.Each(ctx, func(e Entry) error {
		v.index(n, e)
		n++
		return ctx.Err()
	}); err != nil {
		return fmt.Errorf("mio: entry source: %w", err)
	}
	if n == 0 {
		is.add("Entries", ErrEmptyExport, "export has no entries")
		return is.err()
	}
	b.assignBase()
	b.items = make([]item, 0, n)
	i := 0
	if err := x.Source.Each(ctx, func(e Entry) error {
		if i >= n || !v.same(i, e) {
			return ErrSourceChanged
		}
		before := len(is.list)
		v.validate(i, e)
		i++
		if len(is.list) == before && len(is.list) == 0 {
			b.addItem(e, false)
		}
		return ctx.Err()
	}); err != nil {
		if errors.Is(err, ErrSourceChanged) {
			return err
		}
		return fmt.Errorf("mio: entry source: %w", err)
	}
	if i != n {
		return ErrSourceChanged
	}
	if err := is.err(); err != nil {
		return err
	}
	b.count = n
	return nil
}

// writeFromSource re-reads Export.Source and writes this document's
// entries in source order, checking that the source did not change.
func (d *Document) writeFromSource(ctx context.Context, w *rw, inner *countWriter, c *docContent) error {
	b := d.b
	mine := make(map[int]bool, len(c.items))
	for _, i := range c.items {
		mine[i] = true
	}
	pos := 0
	err := b.x.Source.Each(ctx, func(e Entry) error {
		if pos >= len(b.items) || e == nil {
			return ErrSourceChanged
		}
		it := b.items[pos] // a copy: documents may be written concurrently
		pos++
		if e.Kind() != it.kind || e.common().SourceID != it.sid {
			return ErrSourceChanged
		}
		if !mine[pos-1] {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		it.e = e
		if err := w.Flush(); err != nil {
			return err
		}
		before := inner.n
		w.entryResource(&it)
		if err := w.Flush(); err != nil {
			return err
		}
		if inner.n-before != it.resSize {
			return ErrSourceChanged
		}
		return nil
	})
	if err == nil && pos != len(b.items) {
		err = ErrSourceChanged
	}
	if err != nil && !errors.Is(err, ErrSourceChanged) {
		return fmt.Errorf("mio: entry source: %w", err)
	}
	return err
}
