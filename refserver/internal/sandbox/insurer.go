//go:build !production

package sandbox

import (
	"context"
	"errors"

	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

// startInsurer starts the fake insurer (kassenapi spec A5): two clearing
// offices with client certificates and real SECON crypto, the GKV
// pseudo codes (77AAAAAAAAAAAAAX valid, …ADEV expired, …ADFF cancelled,
// …ADGE not found) and a key list.
func startInsurer(context.Context, Options, map[string]Peer) (Peer, error) {
	return kassenapitest.Start(kassenapitest.Options{})
}

// directoryPeer is the fake publication site of the endpoint directory,
// serving a directory whose endpoints are the fake insurer's.
type directoryPeer struct {
	s *kassenapitest.DirectoryServer
}

// DirectoryInfo is the sandbox member "directory".
type DirectoryInfo struct {
	XMLURL string `json:"xml_url"`
	ZIPURL string `json:"zip_url"`
}

func (d directoryPeer) Info() any {
	return DirectoryInfo{XMLURL: d.s.XMLURL(), ZIPURL: d.s.ZIPURL()}
}

func (d directoryPeer) Close() error { d.s.Close(); return nil }

func startDirectory(_ context.Context, _ Options, started map[string]Peer) (Peer, error) {
	ins, ok := started["insurer"].(*kassenapitest.Server)
	if !ok {
		return nil, errors.New("the directory needs the fake insurer")
	}
	s, err := kassenapitest.StartDirectoryServer(kassenapitest.DirectoryServerOptions{Initial: ins.DirectoryXML()})
	if err != nil {
		return nil, err
	}
	return directoryPeer{s}, nil
}
