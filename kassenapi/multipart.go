package kassenapi

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// Multipart field names of the DiGA API (spec A2.5).
const (
	FieldSender    = "iksender"
	FieldReceiver  = "ikempfaenger"
	FieldProcedure = "verfahren"
	FieldPayload   = "nutzdaten"
)

// maxParts bounds the number of parts read from a reply.
const maxParts = 16

// buildMultipart returns the request body (fields in the order of spec
// A2.5, nutzdaten raw with filename and application/octet-stream) and its
// Content-Type. The body is buffered so that Content-Length is set.
//
// REQ: kassenapi-spec:A2.5
func buildMultipart(sender, receiver, procedure string, payload []byte, filename string) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	var rb [12]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, "", err
	}
	if err := w.SetBoundary("digakit-" + hex.EncodeToString(rb[:])); err != nil {
		return nil, "", err
	}
	for _, f := range [][2]string{{FieldSender, sender}, {FieldReceiver, receiver}, {FieldProcedure, procedure}} {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nil, "", err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, FieldPayload, filename))
	h.Set("Content-Type", "application/octet-stream")
	pw, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := pw.Write(payload); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// Reply is a parsed multipart answer of an insurer endpoint.
type Reply struct {
	Fields   map[string]string // iksender, ikempfaenger, verfahren (lower-case names, trimmed values)
	Payload  []byte            // nutzdaten: the CMS bytes
	Warnings []string
}

// ParseReply reads an endpoint's answer body leniently (spec A4): a
// multipart body with or without a boundary parameter (the boundary is
// then sniffed from the first line), part names in any case and with
// white space, base64 nutzdaten when the part says so, and a non-multipart
// body starting with 0x30 taken as the CMS itself (warning). An empty
// body, an HTML or text page and a reply without nutzdaten are
// *ProtocolError (class OutcomeUnknown).
//
// REQ: kassenapi-spec:A2.5, kassenapi-spec:A4
func ParseReply(contentType string, body []byte) (*Reply, error) {
	perr := func(reason string, raw []byte) error {
		return &ProtocolError{Reason: reason, Raw: printablePrefix(raw), Class: ClassOutcomeUnknown}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, perr("empty answer body", nil)
	}
	r := &Reply{Fields: map[string]string{}}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, params = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])), nil
	}
	boundary := params["boundary"]
	if strings.HasPrefix(mt, "multipart/") && boundary == "" {
		boundary = sniffBoundary(body)
		if boundary == "" {
			return nil, perr("multipart answer without boundary", body)
		}
		r.Warnings = append(r.Warnings, "multipart answer without boundary parameter; boundary sniffed")
	}
	if boundary == "" && !strings.HasPrefix(mt, "multipart/") {
		if b := sniffBoundary(body); b != "" {
			boundary = b
			r.Warnings = append(r.Warnings, "multipart answer with content type "+mt)
		} else if body[0] == 0x30 {
			r.Payload = body
			r.Warnings = append(r.Warnings, "answer is not multipart; whole body taken as CMS")
			return r, nil
		} else {
			return nil, perr("answer is neither multipart nor CMS", body)
		}
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		if n >= maxParts {
			return nil, perr("too many parts", nil)
		}
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if r.Payload != nil {
				r.Warnings = append(r.Warnings, "multipart answer not properly terminated")
				break
			}
			return nil, perr("malformed multipart answer", body)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			if r.Payload == nil && strings.EqualFold(strings.TrimSpace(p.FormName()), FieldPayload) {
				return nil, perr("malformed multipart part", nil)
			}
			r.Warnings = append(r.Warnings, "malformed multipart part")
			break
		}
		name := strings.ToLower(strings.TrimSpace(p.FormName()))
		if name == "" {
			name = strings.ToLower(strings.TrimSpace(partName(p.Header.Get("Content-Disposition"))))
		}
		if name == FieldPayload {
			if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
				dec, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(data), nil)))
				if err != nil {
					return nil, perr("nutzdaten is not valid base64", nil)
				}
				data = dec
				r.Warnings = append(r.Warnings, "nutzdaten sent base64-encoded")
			}
			r.Payload = data
			continue
		}
		if name != "" {
			r.Fields[name] = strings.TrimSpace(string(data))
		}
	}
	if r.Payload == nil {
		return nil, perr("answer has no nutzdaten part", nil)
	}
	return r, nil
}

// partName extracts name="…" from a Content-Disposition that
// mime.ParseMediaType could not parse (stray spaces around the name).
func partName(cd string) string {
	for _, p := range strings.Split(cd, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "name") {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// sniffBoundary returns the boundary from a first line "--boundary".
func sniffBoundary(body []byte) string {
	line, err := bufio.NewReader(bytes.NewReader(body)).ReadString('\n')
	if err != nil && line == "" {
		return ""
	}
	line = strings.TrimRight(line, "\r\n")
	line = strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(line, "--") || len(line) < 3 || len(line) > 72 {
		return ""
	}
	b := strings.TrimRight(line[2:], " \t")
	if strings.ContainsAny(b, "<>\x00") {
		return ""
	}
	return b
}

// printablePrefix returns the first 512 bytes with control characters
// removed (for HTML error pages in ProtocolError.Raw).
func printablePrefix(b []byte) []byte {
	if len(b) > 512 {
		b = b[:512]
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c != 0x7f || c == ' ' {
			out = append(out, c)
		}
	}
	return out
}
