package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/memstore"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// The HTTP checkpoint sink: 2xx ships, 409 is a conflict (recorded as
// audit_checkpoint_ship_fail), 5xx is retried, and the next Checkpoint run
// re-ships what a sink has not accepted.
func TestHTTPSink(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	mode := "500"
	got := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer sink-token" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch mode {
		case "500":
			http.Error(w, "down", http.StatusInternalServerError)
		case "409":
			http.Error(w, "conflict", http.StatusConflict)
		default:
			got[string(body[:strings.IndexByte(string(body), '\n')])+"/"+r.Header.Get("X-Audit-Segment")] = body
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	st := memstore.New()
	clk := audittest.NewClock(t0)
	sink := audit.HTTPSink{URL: srv.URL, BearerToken: "sink-token", Retries: 2}
	l, err := audit.New(audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Signers: audittest.Signers(), Now: clk.Now,
		CheckpointSinks: []audit.CheckpointSink{sink}})
	require.NoError(t, err)
	_, err = l.Record(ctx, audittest.LoginFail(1))
	require.NoError(t, err)
	clk.Advance(2 * time.Minute)
	cps, err := l.Checkpoint(ctx)
	require.Error(t, err) // signed and saved, but not shipped
	require.NotContains(t, err.Error(), "sink-token")
	require.Len(t, cps, 1)
	mu.Lock()
	mode = "ok"
	mu.Unlock()
	cps, err = l.Checkpoint(ctx) // nothing new to sign, re-ships
	require.NoError(t, err)
	require.Empty(t, cps)
	mu.Lock()
	require.Len(t, got, 1)
	mode = "409"
	mu.Unlock()
	_, err = l.Record(ctx, audittest.LoginFail(2))
	require.NoError(t, err)
	clk.Advance(2 * time.Minute)
	_, err = l.Checkpoint(ctx)
	require.ErrorIs(t, err, audit.ErrCheckpointConflict)
	recs, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 10)
	require.NoError(t, err)
	require.Equal(t, string(audit.AuditCheckpointShipFail), recs[len(recs)-1].Type)
}

// WriterSink receives each committed event as one JSON line; rolled-back
// events never reach it.
func TestWriterSink(t *testing.T) {
	ctx := t.Context()
	var buf bytes.Buffer
	l, err := audit.New(audit.Config{Store: memstore.New(), EventSinks: []audit.EventSink{&audit.WriterSink{W: &buf}}})
	require.NoError(t, err)
	_, err = l.Record(ctx, audittest.LoginFail(1))
	require.NoError(t, err)
	_ = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
		_, _ = tx.Append(ctx, audittest.LoginFail(2))
		return context.Canceled
	})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &m))
	require.Equal(t, "authn_login_fail", m["type"])
}

// AU-2: x/mod/sumdb/tlog and transparency-dev/merkle agree on roots,
// inclusion and consistency proofs of random trees.
func TestOracleCrossCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 6962))
	h := rfc6962.DefaultHasher
	for range 100 {
		n := 1 + rng.IntN(2000)
		var hs memHashes
		var leaves [][]byte
		var roots []tlog.Hash
		for i := range n {
			leaf := make([]byte, rng.IntN(40))
			for k := range leaf {
				leaf[k] = byte(rng.IntN(256))
			}
			leaves = append(leaves, leaf)
			sh, err := tlog.StoredHashes(int64(i), leaf, hs)
			require.NoError(t, err)
			hs = append(hs, sh...)
			r, err := tlog.TreeHash(int64(i+1), hs)
			require.NoError(t, err)
			roots = append(roots, r)
		}
		for range 5 {
			size := 1 + rng.IntN(n)
			idx := rng.IntN(size)
			p, err := tlog.ProveRecord(int64(size), int64(idx), hs)
			require.NoError(t, err)
			pp := make([][]byte, len(p))
			for k := range p {
				pp[k] = p[k][:]
			}
			require.NoError(t, proof.VerifyInclusion(h, uint64(idx), uint64(size), h.HashLeaf(leaves[idx]), pp, roots[size-1][:]))
			old := 1 + rng.IntN(size)
			tp, err := tlog.ProveTree(int64(size), int64(old), hs)
			require.NoError(t, err)
			tpp := make([][]byte, len(tp))
			for k := range tp {
				tpp[k] = tp[k][:]
			}
			require.NoError(t, proof.VerifyConsistency(h, uint64(old), uint64(size), tpp, roots[old-1][:], roots[size-1][:]))
		}
	}
}
