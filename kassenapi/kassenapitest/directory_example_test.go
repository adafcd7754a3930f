package kassenapitest_test

import (
	"context"
	"fmt"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

// A directory whose entries point at running fakes: the endpoint of a
// loopback server carries an IP and a port, so parse with
// AllowTestEndpoints.
func ExampleDirectoryXML() {
	entries := kassenapitest.DefaultDirectoryEntries(
		kassenapitest.EndpointOf("https://127.0.0.1:4431/diga"),
		kassenapitest.EndpointOf("https://127.0.0.1:4432"))
	xml := kassenapitest.DirectoryXML(entries)

	dir, _, err := kassenapi.DirectoryOptions{AllowTestEndpoints: true}.Parse(xml)
	if err != nil {
		fmt.Println(err)
		return
	}
	e, _ := dir.Lookup("ZZ", kassenapi.MustDate("2024-06-01"))
	fmt.Println(dir.Len(), e.ClearingIK, e.URL)
	// Output: 6 990000200 https://127.0.0.1:4431/diga
}

func ExampleDirectoryServer() {
	srv, err := kassenapitest.StartDirectoryServer(kassenapitest.DirectoryServerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	src := &kassenapi.HTTPSource{URL: srv.ZIPURL(), Client: srv.Client()}

	first, _ := src.Fetch(context.Background(), kassenapi.FetchState{})
	again, _ := src.Fetch(context.Background(), kassenapi.FetchState{ETag: first.ETag})
	fmt.Println(len(first.Body) > 0, again.NotModified)

	_ = srv.UseVersion(kassenapitest.VersionInsolvency)
	srv.SetFault(kassenapitest.DirectoryWrongNamespace)
	broken, _ := src.Fetch(context.Background(), kassenapi.FetchState{ETag: first.ETag})
	_, _, err = kassenapi.ParseDirectory(broken.Body)
	fmt.Println(err)
	// Output:
	// true true
	// kassenapi: directory file rejected: unknown root namespace "http://www.gkv-datenaustausch.de/XML-Schema/EDRE0_MVZ/9.9"
}
