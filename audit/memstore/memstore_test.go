package memstore_test

import (
	"testing"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/memstore"
)

func TestConformance(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audit.Store { return memstore.New() })
}
