package mio

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/digakit/digakit/mio/miotest"
)

// TestICFTablesMatchData fails when the generated ICF tables drift from
// the shipped KBV ValueSets (compose.include concepts).
func TestICFTablesMatchData(t *testing.T) {
	dir, err := miotest.DataDir()
	if err != nil {
		t.Skip(err)
	}
	vsDir := filepath.Join(dir, "kbv", "kbv.mio.diga-1.1.0", "Terminologies", "VS")
	for file, table := range map[string]map[string]string{
		"KBV_VS_MIO_DiGA_Activity_Type.xml":            icfActivity,
		"KBV_VS_MIO_DiGA_Environmental_Factors.xml":    icfEnvironmental,
		"KBV_VS_MIO_DiGA_FunctionalAssessmentType.xml": icfFunctional,
		"KBV_VS_MIO_DiGA_Lifestyle_Factors.xml":        icfLifestyle,
	} {
		b, err := os.ReadFile(filepath.Join(vsDir, file))
		if err != nil {
			t.Fatal(err)
		}
		var vs struct {
			Include []struct {
				System struct {
					V string `xml:"value,attr"`
				} `xml:"system"`
				Concept []struct {
					Code struct {
						V string `xml:"value,attr"`
					} `xml:"code"`
					Display struct {
						V string `xml:"value,attr"`
					} `xml:"display"`
				} `xml:"concept"`
			} `xml:"compose>include"`
		}
		if err := xml.Unmarshal(b, &vs); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, inc := range vs.Include {
			if inc.System.V != sysICF {
				t.Fatalf("%s: system %s", file, inc.System.V)
			}
			for _, c := range inc.Concept {
				got[c.Code.V] = c.Display.V
			}
		}
		if len(got) != len(table) {
			t.Fatalf("%s: %d codes in data, %d in table", file, len(got), len(table))
		}
		for c, d := range got {
			if table[c] != d {
				t.Fatalf("%s: %s drifted", file, c)
			}
		}
	}
}
