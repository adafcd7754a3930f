// Package cms implements the SECON profile of CMS (RFC 5652) that the
// German statutory insurers use for DiGA messages (GKV "Anlage 16 –
// Security-Schnittstelle"; digakit spec kassenapi.md A2.6).
//
// # Flow
//
// Sending: [Sign] wraps the XML in ContentInfo(SignedData), attached
// content, signed with RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32, RFC
// 4055) and with the signed attributes contentType, messageDigest and
// signingTime. [Encrypt] puts those bytes into ContentInfo(EnvelopedData)
// for one recipient: RSAES-OAEP (SHA-256, MGF1-SHA-256, RFC 3560) key
// transport and AES-256-CBC content encryption (RFC 3565). [Seal] does
// both, in the SECON order sign-then-encrypt. The output is DER; the BER
// option writes indefinite lengths and chunked OCTET STRINGs the way
// BouncyCastle stream generators do.
//
// Receiving: [Open] decrypts with the current or a previous own key pair
// ([Decrypt]), parses the inner SignedData ([ParseSigned]) and checks the
// signature per [VerifyMode]: Strict fails, Lenient (the default) turns a
// failure into a warning, Off skips the check. A structurally broken
// message is an error in every mode.
//
// # BER reader
//
// Java peers send BER: indefinite lengths and constructed OCTET STRINGs.
// encoding/asn1 rejects both, so the package decodes with its own small
// TLV reader, bounded to [MaxInput] bytes and [MaxDepth] levels, checking
// every length against the remaining input. Signed attributes are
// verified over the bytes as received. [Normalize] exposes the
// BER-to-definite conversion.
//
// On input the reader also accepts PKCS#1 v1.5 key transport (constant
// time, with a warning), AES-128/192-CBC (warning), sha256WithRSAEncryption
// signatures, SHA-384/512 digests, NULL or absent hash parameters and any
// PSS salt length stated in the parameters. Everything else is
// [ErrUnsupported].
//
// Keys are used through crypto.Signer and crypto.Decrypter only, so HSM
// keys work. Keys below [MinRSABits] are refused when writing.
package cms
