//go:build !production

package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/kassenapi/xrechnung"

	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/sandbox"
)

type sandboxPeers = *sandbox.Sandbox

func startSandbox(ctx context.Context, log *slog.Logger) (*sandbox.Sandbox, error) {
	return sandbox.Start(ctx, sandbox.Options{Logger: log.With("component", "sandbox")})
}

func checkSandboxAllowed(*config.Config) error { return nil }

// sandboxKasse wires redemption and billing to the in-process fake
// insurer: its client configuration (test PKI, key list, directory), a
// sandbox seller and a price for the fake's DiGA-VE-IDs. Test codes (77…)
// are accepted, as in the development default of refserver spec §1.
func sandboxKasse(sb *sandbox.Sandbox) (*kassePeers, error) {
	ins, ok := sb.Peer("insurer").(*kassenapitest.Server)
	if !ok {
		return nil, errors.New("the sandbox has no fake insurer")
	}
	cfg := ins.ClientConfig()
	cfg.Sleep = nil // real backoff between retries
	client, err := kassenapi.New(cfg)
	if err != nil {
		return nil, err
	}
	overrides := map[string]xrechnung.Address{}
	for _, e := range ins.Directory().Entries() {
		overrides[e.IK] = xrechnung.Address{Street: "Kassenweg 1", Postcode: "10117", City: "Berlin"}
	}
	info := ins.InfoStruct()
	return &kassePeers{
		client: client, directory: cfg.Directory, manufacturerIK: info.ManufacturerIK,
		seller: xrechnung.Party{IK: info.ManufacturerIK, Name: "Sandbox DiGA GmbH", VATID: "DE123456789",
			Contact: xrechnung.Contact{Name: "Sandbox Billing", Phone: "+49 30 1234567", Email: "billing@sandbox.example"},
			Address: xrechnung.Address{Street: "Musterstraße 1", Postcode: "10115", City: "Berlin"}},
		catalog: &xrechnung.Catalog{Entries: []xrechnung.CatalogEntry{
			{VEID: info.DiGAID + "000", Name: "Sandbox DiGA", From: xrechnung.NewDate(2020, 1, 1), NetCents: 21845, Tax: xrechnung.StandardVAT},
			{VEID: info.DiGAID + "001", Name: "Sandbox DiGA (VE 001)", From: xrechnung.NewDate(2020, 1, 1), NetCents: 21845, Tax: xrechnung.StandardVAT},
		}},
		overrides: overrides, allowTest: cfg.AllowTestCodes, testPrefix: cfg.TestPrefix, numberPrefix: "SB",
	}, nil
}
