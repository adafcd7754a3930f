package xrechnung

//go:generate go run ./internal/ciigen -xsd ../../../shared/data/gkv/xsd/cii-d16b -o schema_table.go

// xsdElem is one element of a CII D16B sequence: name, type, minOccurs,
// maxOccurs (-1 = unbounded).
type xsdElem struct {
	name, typ string
	min, max  int
}
