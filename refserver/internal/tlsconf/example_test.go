package tlsconf_test

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"

	"github.com/digakit/digakit/refserver/internal/tlsconf"
)

func ExampleCheckState() {
	cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_CHACHA20_POLY1305_SHA256, CurveID: tls.X25519}
	fmt.Println(tlsconf.CheckState(tlsconf.Strict, cs))
	fmt.Println(tlsconf.CheckState(tlsconf.Compat, cs))
	// Output:
	// tlsconf: cipher suite TLS_CHACHA20_POLY1305_SHA256 (outside TLS profile strict)
	// <nil>
}

func ExampleClassify() {
	for _, text := range []string{
		"tls: client offered only unsupported versions: [302 301]",
		"remote error: tls: bad certificate",
		"EOF",
	} {
		reason, alert := tlsconf.Classify(text)
		fmt.Printf("%s %q\n", reason, alert)
	}
	// Output:
	// unsupported_version ""
	// remote_alert "bad certificate"
	// client_closed ""
}

func ExampleHandshakeLog_ErrorLog() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // stable output
			}
			return a
		},
	}))
	hl, err := tlsconf.NewHandshakeLog("public", tlsconf.HandshakeConfig{Logger: logger})
	if err != nil {
		panic(err)
	}
	// Install as http.Server.ErrorLog; net/http writes this line once per
	// failed handshake.
	hl.ErrorLog().Printf("http: TLS handshake error from 192.0.2.10:51234: tls: no cipher suite supported by both client and server; client offered: [1303]")
	// Output:
	// {"level":"WARN","msg":"handshake_fail","log_kind":"conn","listener":"public","reason":"no_common_suite","remote_ip":"192.0.2.10","remote_port":"51234","detail":"tls: no cipher suite supported by both client and server; client offered: [1303]"}
}
