package xrechnung

//go:generate go run ./internal/ciigen -xsd ../../../shared/data/gkv/xsd/cii-d16b -o schema_table.go

// xsdElem is one element of a CII D16B sequence: name, type, minOccurs,
// maxOccurs (-1 = unbounded).
type xsdElem struct {
	name, typ string
	min, max  int
}

// xsdLeaf is a CII D16B data type: kind "decimal", "choice" or "" (text),
// its attributes (name and fixed value, "" when not fixed) and, for a
// choice, its alternatives.
type xsdLeaf struct {
	kind   string
	attrs  [][2]string
	choice []xsdElem
}
