package kassenapi

import (
	"bytes"
	"errors"
	"mime"
	"strings"
	"testing"
)

func TestBuildMultipart(t *testing.T) {
	body, ct, err := buildMultipart("990000018", "990000200", "EDFC0", []byte{0x30, 0x80, 0, 0}, "anfrage.cms")
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("%s %v", ct, err)
	}
	s := string(body)
	for i, want := range []string{`name="iksender"`, `name="ikempfaenger"`, `name="verfahren"`, `name="nutzdaten"; filename="anfrage.cms"`, "Content-Type: application/octet-stream"} {
		if !strings.Contains(s, want) {
			t.Fatalf("part %d: %q missing", i, want)
		}
	}
	if strings.Index(s, "iksender") > strings.Index(s, "ikempfaenger") || strings.Index(s, "verfahren") > strings.Index(s, "nutzdaten") {
		t.Fatal("field order")
	}
	r, err := ParseReply(ct, body)
	if err != nil || !bytes.Equal(r.Payload, []byte{0x30, 0x80, 0, 0}) || r.Fields["verfahren"] != "EDFC0" {
		t.Fatalf("%v %+v", err, r)
	}
}

const replyBody = "--XyZ\r\nContent-Disposition: form-data; name=\" IKSender \"\r\n\r\n 990000200 \r\n" +
	"--XyZ\r\nContent-Disposition: form-data; name=\"Nutzdaten\"; filename=\"a.cms\"\r\nContent-Type: application/octet-stream\r\n\r\n\x30\x03\x02\x01\x05\r\n--XyZ--\r\n"

func TestParseReply(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		payload           string
		warning           string
		fail              string
	}{
		{"normal", "multipart/form-data; boundary=XyZ", replyBody, "\x30\x03\x02\x01\x05", "", ""},
		{"no boundary", "multipart/form-data", replyBody, "\x30\x03\x02\x01\x05", "boundary", ""},
		{"no content type", "", replyBody, "\x30\x03\x02\x01\x05", "multipart", ""},
		{"raw cms", "application/octet-stream", "\x30\x03\x02\x01\x05", "\x30\x03\x02\x01\x05", "not multipart", ""},
		{"base64", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"nutzdaten\"\r\nContent-Transfer-Encoding: base64\r\n\r\nMAMCAQU=\r\n--b--\r\n", "\x30\x03\x02\x01\x05", "base64", ""},
		{"unterminated", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"nutzdaten\"\r\n\r\n\x30\x03\x02\x01\x05\r\n--b\r\n", "\x30\x03\x02\x01\x05", "", ""},
		{"empty", "multipart/form-data; boundary=b", "", "", "", "empty"},
		{"whitespace", "multipart/form-data; boundary=b", " \r\n", "", "", "empty"},
		{"html", "text/html", "<html><body>\x01Bad\tGateway</body></html>", "", "", "neither"},
		{"no nutzdaten", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"iksender\"\r\n\r\n1\r\n--b--\r\n", "", "", "no nutzdaten"},
		{"no boundary, no sniff", "multipart/form-data", "garbage", "", "", "without boundary"},
		{"bad base64", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"nutzdaten\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n--b--\r\n", "", "", "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseReply(tt.ctype, []byte(tt.body))
			if tt.fail != "" {
				var pe *ProtocolError
				if !errors.As(err, &pe) || pe.Class != ClassOutcomeUnknown || !strings.Contains(pe.Reason, tt.fail) {
					t.Fatalf("got %v", err)
				}
				if bytes.ContainsAny(pe.Raw, "\x01\t") || len(pe.Raw) > 512 {
					t.Fatalf("raw not sanitised: %q", pe.Raw)
				}
				return
			}
			if err != nil || string(r.Payload) != tt.payload {
				t.Fatalf("%v %q", err, r)
			}
			if tt.warning != "" && !strings.Contains(strings.Join(r.Warnings, "|"), tt.warning) {
				t.Fatalf("warnings %q", r.Warnings)
			}
		})
	}
	r, _ := ParseReply("multipart/form-data; boundary=XyZ", []byte(replyBody))
	if r.Fields["iksender"] != "990000200" {
		t.Fatalf("case-insensitive, trimmed field: %q", r.Fields)
	}
}

// FuzzParseReply: the multipart reader never panics and always returns
// a payload or a *ProtocolError.
func FuzzParseReply(f *testing.F) {
	f.Add("multipart/form-data; boundary=XyZ", []byte(replyBody))
	f.Add("multipart/form-data", []byte(replyBody))
	f.Add("application/octet-stream", []byte{0x30, 0x80, 0, 0})
	f.Add("text/html", []byte("<html>502</html>"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		r, err := ParseReply(ctype, body)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || len(pe.Raw) > 512 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if r.Payload == nil {
			t.Fatal("nil payload without error")
		}
	})
}
