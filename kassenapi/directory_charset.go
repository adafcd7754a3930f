package kassenapi

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// dirCP1252 maps the bytes 0x80–0x9F of windows-1252 to Unicode; the five
// undefined positions map to the C1 control of the same value.
var dirCP1252 = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// dirLatin9 lists where ISO-8859-15 differs from ISO-8859-1.
var dirLatin9 = map[byte]rune{
	0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D,
	0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178,
}

// dirDecode8bit converts single-byte text to UTF-8 with the given table
// function.
func dirDecode8bit(b []byte, m func(byte) rune) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/8)
	for _, c := range b {
		if c < 0x80 {
			out.WriteByte(c)
			continue
		}
		out.WriteRune(m(c))
	}
	return out.Bytes()
}

func dirRuneLatin1(c byte) rune { return rune(c) }

func dirRuneLatin9(c byte) rune {
	if r, ok := dirLatin9[c]; ok {
		return r
	}
	return rune(c)
}

func dirRune1252(c byte) rune {
	if c >= 0x80 && c <= 0x9F {
		return dirCP1252[c-0x80]
	}
	return rune(c)
}

// dirDecodeWindows1252 re-decodes bytes that are not valid UTF-8 as
// windows-1252 (spec A4: "bytes invalid for the declared encoding").
// Valid UTF-8 sequences in between are decoded byte by byte too, which is
// what a windows-1252 reader would do.
func dirDecodeWindows1252(b []byte) []byte { return dirDecode8bit(b, dirRune1252) }

// dirCharsetReader is the xml.Decoder CharsetReader: UTF-8, US-ASCII,
// ISO-8859-1, ISO-8859-15 and windows-1252 with own tables, no dependency
// (spec A3 "XML hardening").
func dirCharsetReader(charset string, input io.Reader) (io.Reader, error) {
	var m func(byte) rune
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		b, err := io.ReadAll(io.LimitReader(input, MaxDirectoryXMLSize+1))
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			b = dirDecodeWindows1252(b)
		}
		return bytes.NewReader(b), nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
		m = dirRuneLatin1
	case "iso-8859-15", "iso8859-15", "latin9", "latin-9", "iso_8859-15":
		m = dirRuneLatin9
	case "windows-1252", "cp1252", "x-cp1252":
		m = dir1252OrLatin1
	default:
		return nil, fmt.Errorf("kassenapi: unsupported XML encoding %q", charset)
	}
	b, err := io.ReadAll(io.LimitReader(input, MaxDirectoryXMLSize+1))
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(dirDecode8bit(b, m)), nil
}

func dir1252OrLatin1(c byte) rune { return dirRune1252(c) }
