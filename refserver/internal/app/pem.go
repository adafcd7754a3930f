package app

import "encoding/pem"

// nextPEMCert returns the DER bytes of the next CERTIFICATE block in b
// and the rest, or nil when there is none.
func nextPEMCert(b []byte) (der, rest []byte) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, nil
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes, b
		}
	}
}
