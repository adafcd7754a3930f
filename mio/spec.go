package mio

// Spec describes one MIO DiGA release (spec §3.8): its version, the entry
// kinds it defines and the ePA metadata of its documents. A future 1.2.0
// becomes a second Spec selected through Options.Spec; the 1.1.0 profile,
// section and terminology tables live in diga110.go.
type Spec struct {
	// Version is the MIO version ("1.1.0"), also the profile version.
	Version string
	// FormatCode, ClassCode, TypeCode and FolderCode are the ePA XDS
	// metadata of the release's documents.
	FormatCode, ClassCode, TypeCode, FolderCode Code
	// MimeType is the document mime type.
	MimeType string
	kinds    map[Kind]bool
}

// Supports reports whether the release defines the entry kind.
func (s *Spec) Supports(k Kind) bool { return s.kinds[k] }

// DiGA110 is MIO DiGA Toolkit 1.1.0 (kbv.mio.diga 1.1.0, gematik IG
// ig-diga_V_1_1), the default and currently only Spec.
var DiGA110 = &Spec{
	Version:    MIOVersion,
	FormatCode: FormatCodeDiGA11, ClassCode: ClassCodeDUR, TypeCode: TypeCodePATD, FolderCode: FolderCodeDiGA,
	MimeType: MimeTypeFHIRXML,
	kinds: func() map[Kind]bool {
		m := map[Kind]bool{}
		for k := range entryFactories {
			m[k] = true
		}
		return m
	}(),
}
