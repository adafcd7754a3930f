package kassenapi_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

func ExampleParseCode() {
	code, err := kassenapi.ParseCode(" ch-aaaa aaaa aaaa aj ")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(code)          // redacted
	fmt.Println(code.Prefix()) // key into the directory
	fmt.Println(code.IsTest())

	_, err = kassenapi.ParseCode("CHAAAAAAAAAAAAAX")
	fmt.Println(errors.Is(err, kassenapi.ErrCodeChecksum))

	_, err = kassenapi.ParseCode("CHAAAAAAAAAAAA0J")
	var ce *kassenapi.CharsetError
	fmt.Println(errors.As(err, &ce), ce.Pos)

	_, err = kassenapi.ParseCodeMode("77AAAAAAAAAAAAAX", kassenapi.CodeModeProduction)
	fmt.Println(errors.Is(err, kassenapi.ErrTestCodeNotAllowed))
	// Output:
	// CH************AJ
	// CH
	// false
	// true
	// true 14
	// true
}

func ExampleCheckChar() {
	c, _ := kassenapi.CheckChar("CHAAAAAAAAAAAAA")
	fmt.Printf("%c\n", c)
	// Output: J
}

func ExampleDirectory_Lookup() {
	xml := kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("diga.kasse-a.example", "diga-api.kasse-b.example/rest"))
	dir, problems, err := kassenapi.ParseDirectory(xml)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range problems {
		fmt.Println("problem:", p.Prefix, p.Field, p.Reason)
	}
	day := kassenapi.MustDate("2024-06-01")

	e, _ := dir.Lookup("ZU", day)
	fmt.Println(e.IK, e.ClearingIK, e.URL, e.Dispatch)

	// ZY merged into ZX in 2022, and ZX is insolvent.
	r, err := dir.Route("ZY", day)
	fmt.Println(r.Hops, errors.Is(err, kassenapi.ErrInsurerInsolvent))

	// ZV sends invoices by post and has no API endpoint.
	e, err = dir.Lookup("ZV", day)
	fmt.Println(e.Address.City, errors.Is(err, kassenapi.ErrNoElectronicEndpoint))

	_, err = dir.Lookup("QQ", day)
	fmt.Println(errors.Is(err, kassenapi.ErrUnknownPrefix))
	// Output:
	// problem: ZV Endpunkt_Kommunikationsstelle endpoint is not a DNS host name
	// 990000102 990000300 https://diga-api.kasse-b.example/rest/diga api
	// [ZX] true
	// Berlin true
	// true
}

func ExampleNewDirectoryUpdater() {
	ctx := context.Background()
	srv, err := kassenapitest.StartDirectoryServer(kassenapitest.DirectoryServerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	snapshots, _ := os.MkdirTemp("", "directory")
	defer os.RemoveAll(snapshots)

	u, err := kassenapi.NewDirectoryUpdater(ctx, kassenapi.DirectoryUpdaterConfig{
		URL:         srv.ZIPURL(),
		HTTPClient:  srv.Client(),
		SnapshotDir: snapshots, // last-known-good copy, loaded at the next start
		OnChange: func(c kassenapi.DirectoryChange) {
			fmt.Println("added", c.Diff.Added, "removed", c.Diff.Removed, "endpoint changed", c.Diff.EndpointChanged())
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer u.Close()

	changed, err := u.Refresh(ctx) // call this from a scheduled job
	fmt.Println(changed, err, u.Current().Len())

	changed, err = u.Refresh(ctx) // 304 Not Modified
	fmt.Println(changed, err)

	entries := kassenapitest.DefaultDirectoryEntries("diga-neu.kasse-a.example", "diga-b.kasse.example")
	srv.SetEntries(entries[:5]) // ZV removed, fake A moved
	changed, err = u.Refresh(ctx)
	fmt.Println(changed, err)

	srv.SetFault(kassenapitest.DirectoryNotXML) // a broken download keeps the old snapshot
	_, err = u.Refresh(ctx)
	fmt.Println(errors.Is(err, kassenapi.ErrDirectoryRejected), u.Current().Len())
	// Output:
	// added [ZU ZV ZW ZX ZY ZZ] removed [] endpoint changed []
	// true <nil> 6
	// false <nil>
	// added [] removed [ZV] endpoint changed [ZW ZX ZY ZZ]
	// true <nil>
	// true 5
}
