//go:build !production

package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// TestSandboxPrintsOneJSONDocumentAndStopsOnSignal runs `digakit sandbox`
// in-process; cancelling the context is the CLI's SIGINT/SIGTERM path.
func TestSandboxPrintsOneJSONDocumentAndStopsOnSignal(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var errb strings.Builder
	go func() {
		done <- run(ctx, []string{"sandbox"}, &env{stdin: strings.NewReader(""), stdout: pw, stderr: &errb, getenv: func(string) string { return "" }})
		_ = pw.Close()
	}()
	var doc map[string]json.RawMessage
	if err := json.NewDecoder(pr).Decode(&doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v", err)
	}
	for name, raw := range doc {
		if len(raw) == 0 || string(raw) == "null" {
			t.Errorf("member %s is empty", name)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d, want 0 (stderr %q)", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sandbox did not stop after the signal")
	}
	if rest, _ := io.ReadAll(pr); strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("more than one document on stdout: %q", rest)
	}
	if _, _, code := runCLI(t, "", "sandbox", "extra"); code != exitUsage {
		t.Fatalf("sandbox extra: exit %d, want 2", code)
	}
}
