// Package app wires the reference server: configuration, logging, the two
// databases and their migrations, the River job runner, the in-process
// sandbox peers, the HTTP listeners and graceful shutdown. It is the one
// place where the parts meet (smallstep's "wiring in one place",
// STYLE.md).
//
// Start-up order (refserver spec §1): validate the configuration; refuse
// uid 0 in the production layout unless AllowRoot (O.Arch_10; the
// development default only warns); create the data directory (0700) and
// prove it writable; open and migrate the main database (goose, then
// River's tables) and the billing database (goose only), refusing one
// database for both roles; start the sandbox peers when enabled; start
// River; bind the listeners (a port in use fails here, before anything is
// served); log one "listening" line per listener.
//
// Every start-up failure is a *StartupError, which the CLI turns into one
// stderr line and exit 2. Shutdown on context cancellation (SIGINT or
// SIGTERM in the CLI): stop accepting, drain in-flight requests for up to
// 30 s, stop River (Stop, then StopAndCancel after 10 s), close the
// sandbox and both databases.
package app
