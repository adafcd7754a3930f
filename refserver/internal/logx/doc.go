// Package logx builds the server's slog logger: JSON lines with the
// record members of refserver spec §3.6 and a ReplaceAttr hook that
// redacts every attribute whose key names a secret or personal datum
// (O.Arch_11, TR-03161-3 O.Source_3; "shown is not logged, and secrets
// are in neither", STYLE.md rule 4).
package logx
