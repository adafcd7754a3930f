package kassenapitest

import "github.com/digakit/digakit/kassenapi"

// Names of the directory versions that DirectoryVersions builds and every
// DirectoryServer preloads (spec A5 "switchable variants").
const (
	VersionBase            = "base"             // DefaultDirectoryEntries
	VersionPrefixAdded     = "prefix-added"     // base + ZT (fake A)
	VersionPrefixRemoved   = "prefix-removed"   // base without ZW
	VersionEndpointChanged = "endpoint-changed" // ZZ moved to fake B
	VersionIKChanged       = "ik-changed"       // ZU with another clearing IK
	VersionMerger          = "merger"           // ZZ ends yesterday-ish (2023-12-31), successor ZU
	VersionInsolvency      = "insolvency"       // ZU insolvent
	VersionV2              = "v2"               // base in the v2 namespaces (no v3 attributes)
)

// DirectoryVersions returns the standard variants of the directory for the
// two fake Kommunikationsstellen, keyed by the Version* names.
func DirectoryVersions(endpointA, endpointB string) map[string][]byte {
	base := func() []kassenapi.Entry { return DefaultDirectoryEntries(endpointA, endpointB) }
	out := map[string][]byte{VersionBase: DirectoryXML(base())}

	added := base()
	zt := added[0]
	zt.Prefix, zt.IK, zt.BillingIK, zt.Name = "ZT", "990000107", "990000107", "Fake BKK ZT (neu)"
	out[VersionPrefixAdded] = DirectoryXML(append(added, zt))

	removed := base()
	out[VersionPrefixRemoved] = DirectoryXML(append(removed[:4:4], removed[5]))

	moved := base()
	moved[0].Endpoint, moved[0].ClearingIK = endpointB, "990000300"
	out[VersionEndpointChanged] = DirectoryXML(moved)

	ik := base()
	ik[1].ClearingIK = "990000301"
	out[VersionIKChanged] = DirectoryXML(ik)

	merger := base()
	merger[0].ValidUntil, merger[0].SuccessorPrefix = kassenapi.MustDate("2023-12-31"), "ZU"
	out[VersionMerger] = DirectoryXML(merger)

	insolvent := base()
	insolvent[1].Insolvent = true
	out[VersionInsolvency] = DirectoryXML(insolvent)

	out[VersionV2] = DirectoryXMLVersion(base(), 2)
	return out
}
