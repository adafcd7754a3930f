package auth

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/digakit/digakit/refserver/internal/store"
)

// TestT3ConcurrentRefreshRotation: 50 concurrent refreshes with one
// token give exactly one new pair; every loser is reuse; the family
// (including the new pair) is revoked afterwards; no 5xx.
//
// REQ: TR03161-3:O.Auth_18
func TestT3ConcurrentRefreshRotation(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { testT3(t, openDB(t, d)) })
	}
}

func testT3(t *testing.T, db *store.DB) {
	e := newEnvDB(t, db, false, nil)
	secret, _ := e.register(t, "refresher")
	c := e.client(t)
	tok, err := c.Login(context.Background(), "refresher", testPassword, secret)
	require.NoError(t, err)

	const n = 50
	var wg sync.WaitGroup
	var ok, bad, fivexx atomic.Int32
	var mu sync.Mutex
	var winner string
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tr := e.refresh(t, tok.RefreshToken)
			switch {
			case tr.status == http.StatusOK:
				ok.Add(1)
				mu.Lock()
				winner = tr.RefreshToken
				mu.Unlock()
			case tr.status >= 500:
				fivexx.Add(1)
			case tr.status == http.StatusBadRequest && tr.Error == "invalid_grant":
				bad.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.EqualValues(t, 1, ok.Load(), "exactly one new pair")
	require.EqualValues(t, n-1, bad.Load())
	require.Zero(t, fivexx.Load())
	require.Equal(t, n-1, e.sink.Count(EventTokenReuse, ""), "one authn_token_reuse per losing request")
	require.Equal(t, 1, e.sink.Count(EventTokenRevoked, "reuse_detected"))

	// Every token of the family is dead now, including the winner's.
	require.Equal(t, "invalid_grant", e.refresh(t, winner).Error)
	require.Equal(t, "invalid_grant", e.refresh(t, tok.RefreshToken).Error)
	code, _ := e.api(t, http.MethodGet, "/v1/me/sessions", tok.AccessToken, "")
	require.Equal(t, http.StatusUnauthorized, code)
}

// TestRefreshRotatesAndDetectsSequentialReuse: the plain rotation path
// and reuse of a rotated token, on every configured dialect.
func TestRefreshRotatesAndDetectsSequentialReuse(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			e := newEnvDB(t, openDB(t, d), false, nil)
			secret, _ := e.register(t, "rotator")
			tok, err := e.client(t).Login(context.Background(), "rotator", testPassword, secret)
			require.NoError(t, err)
			r1 := e.refresh(t, tok.RefreshToken)
			require.Equal(t, http.StatusOK, r1.status)
			r2 := e.refresh(t, r1.RefreshToken)
			require.Equal(t, http.StatusOK, r2.status)
			// Replaying r1 (rotated) revokes the family: r2 dies too.
			require.Equal(t, "invalid_grant", e.refresh(t, r1.RefreshToken).Error)
			require.Equal(t, "invalid_grant", e.refresh(t, r2.RefreshToken).Error)
			require.GreaterOrEqual(t, e.sink.Count(EventTokenReuse, ""), 1)
		})
	}
}

// TestT4TOTPReplayGuard: the same code twice is rejected (otp_replay);
// 20 concurrent submissions of one code give exactly one success; an
// older step than the last accepted one is rejected.
//
// REQ: TR03161-3:O.Auth_4
func TestT4TOTPReplayGuard(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			e := newEnvDB(t, openDB(t, d), true, nil)
			ctx := context.Background()
			secret, _ := e.register(t, "totp-user")
			acct, err := e.svc.accountByUsername(ctx, "totp-user")
			require.NoError(t, err)

			// The enrollment code's step is stored: the same step fails.
			cur := TOTPStep(e.clock.Now()) - 1
			same, _ := TOTPCode(secret, cur)
			require.ErrorIs(t, e.svc.VerifyTOTP(ctx, acct.id, same), ErrSecondFactor)
			require.Equal(t, 1, e.sink.Count(EventLoginFail, "otp_replay"))

			e.clock.Advance(30 * time.Second)
			code, _ := TOTPCode(secret, TOTPStep(e.clock.Now()))
			require.NoError(t, e.svc.VerifyTOTP(ctx, acct.id, code[:3]+" "+code[3:]))
			require.ErrorIs(t, e.svc.VerifyTOTP(ctx, acct.id, code), ErrSecondFactor, "same code twice")
			require.Equal(t, 2, e.sink.Count(EventLoginFail, "otp_replay"))
			// An older step inside the skew window is rejected too.
			older, _ := TOTPCode(secret, TOTPStep(e.clock.Now())-1)
			require.ErrorIs(t, e.svc.VerifyTOTP(ctx, acct.id, older), ErrSecondFactor)

			e.clock.Advance(60 * time.Second)
			code, _ = TOTPCode(secret, TOTPStep(e.clock.Now()))
			var wins, losses atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := e.svc.VerifyTOTP(ctx, acct.id, code)
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, ErrSecondFactor):
						losses.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			require.EqualValues(t, 1, wins.Load())
			require.EqualValues(t, 19, losses.Load())

			// Bounded skew: two steps ahead is rejected.
			ahead, _ := TOTPCode(secret, TOTPStep(e.clock.Now())+2)
			require.ErrorIs(t, e.svc.VerifyTOTP(ctx, acct.id, ahead), ErrSecondFactor)
			// Format failures.
			for _, bad := range []string{"１２３４５６", "12345", "1234567", "abcdef", ""} {
				require.ErrorIs(t, e.svc.VerifyTOTP(ctx, acct.id, bad), ErrSecondFactor)
			}
			require.Equal(t, 5, e.sink.Count(EventLoginFail, "otp_format"))
		})
	}
}
