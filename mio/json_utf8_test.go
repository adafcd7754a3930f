package mio

import (
	"bytes"
	"errors"
	"testing"
)

// TestDecodeExportRejectsInvalidUTF8: invalid UTF-8 in a string is refused
// with ErrInvalidJSON instead of being replaced by U+FFFD (found by
// FuzzExportJSON; the crasher is in the seed corpus).
func TestDecodeExportRejectsInvalidUTF8(t *testing.T) {
	_, _, err := DecodeExport(bytes.NewReader([]byte("{\"exportId\":\"x\",\"patient\":{\"name\":{\"family\":\"M\xbc\"}}}")))
	if !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("err = %v, want ErrInvalidJSON", err)
	}
}
