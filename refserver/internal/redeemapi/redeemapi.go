package redeemapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// AccountFunc returns the authenticated account id of a request (the
// subject of the verified access token), or false.
type AccountFunc func(r *http.Request) (string, bool)

// Config configures the handlers.
type Config struct {
	// Service runs redemption and billing.
	Service *billing.Service
	// Account extracts the authenticated account (auth middleware).
	Account AccountFunc
	// OperatorToken authorises the operator endpoints (Authorization:
	// Bearer) until role-based admin auth is wired. Empty disables them.
	OperatorToken string
	// RetryAfter is sent with 503 answers. Default 120 s.
	RetryAfter time.Duration
	// Logger receives server-side causes; never codes.
	Logger *slog.Logger
}

// Handler serves the redemption and operator endpoints.
type Handler struct {
	cfg      Config
	opDigest [32]byte
	log      *slog.Logger
}

// New validates cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Service == nil || cfg.Account == nil {
		return nil, errors.New("redeemapi: Service and Account are required")
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 120 * time.Second
	}
	h := &Handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if cfg.OperatorToken != "" {
		h.opDigest = sha256.Sum256([]byte(cfg.OperatorToken))
	}
	return h, nil
}

// Route is one entry of the route table (refserver spec 3.1).
type Route struct {
	Method, Pattern, OperationID string
	// Auth is "user" or "operator".
	Auth    string
	Handler http.HandlerFunc
}

// Routes returns the route table of the package.
func (h *Handler) Routes() []Route {
	rs := []Route{
		{"POST", "/v1/redemptions", "createRedemption", "user", h.redeem},
		{"GET", "/v1/redemptions/me", "listMyRedemptions", "user", h.mine},
	}
	if h.cfg.OperatorToken != "" {
		rs = append(rs,
			Route{"GET", "/admin/v1/billing/invoices", "listBillingInvoices", "operator", h.operator(h.invoices)},
			Route{"GET", "/admin/v1/billing/manual", "listManualDispatch", "operator", h.operator(h.manual)},
			Route{"GET", "/admin/v1/billing/invoices/{number}/xml", "getInvoiceXML", "operator", h.operator(h.xml)},
			Route{"POST", "/admin/v1/billing/invoices/{number}/dispatched", "markInvoiceDispatched", "operator", h.operator(h.dispatched)},
			Route{"POST", "/admin/v1/billing/invoices/{number}/corrections", "createCorrection", "operator", h.operator(h.correct)},
			Route{"POST", "/admin/v1/billing/invoices/{number}/resubmit", "resubmitInvoice", "operator", h.operator(h.action(h.cfg.Service.Resubmit))},
			Route{"POST", "/admin/v1/billing/invoices/{number}/cancel", "cancelInvoice", "operator", h.operator(h.action(h.cfg.Service.Cancel))},
			Route{"POST", "/admin/v1/billing/reviews", "resolveReview", "operator", h.operator(h.resolve)},
			Route{"GET", "/admin/v1/billing/summary", "getBillingSummary", "operator", h.operator(h.summary)},
		)
	}
	return rs
}

// Register adds the routes to mux ("METHOD /pattern").
func (h *Handler) Register(mux *http.ServeMux) {
	for _, r := range h.Routes() {
		mux.HandleFunc(r.Method+" "+r.Pattern, r.Handler)
	}
}

func problem(w http.ResponseWriter, status int, code, title string, ext map[string]any) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]any{"type": "/problems/" + code, "title": title, "status": status, "code": code}
	for k, v := range ext {
		body[k] = v
	}
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxBody bounds JSON request bodies.
const maxBody = 4 << 10

// RedeemRequest is the body of POST /v1/redemptions.
type RedeemRequest struct {
	Code string `json:"code"`
}

// DecodeRedeemRequest reads and checks the body of POST /v1/redemptions:
// one JSON object with exactly the member code (a string), at most 4 KiB.
// Errors never contain the input.
func DecodeRedeemRequest(r io.Reader) (RedeemRequest, error) {
	var req RedeemRequest
	dec := json.NewDecoder(io.LimitReader(r, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return RedeemRequest{}, errors.New("redeemapi: body must be a JSON object {\"code\": string}")
	}
	if dec.More() {
		return RedeemRequest{}, errors.New("redeemapi: trailing data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return RedeemRequest{}, errors.New("redeemapi: trailing data after the JSON object")
	}
	if req.Code == "" {
		return RedeemRequest{}, errors.New("redeemapi: code is required")
	}
	if len(req.Code) > 64 {
		return RedeemRequest{}, errors.New("redeemapi: code too long")
	}
	return req, nil
}

// RedemptionView is the answer of a successful redemption and an item of
// GET /v1/redemptions/me: never the code or its hash.
type RedemptionView struct {
	Outcome    string `json:"outcome,omitempty"`
	State      string `json:"state"`
	RedeemedAt string `json:"redeemed_at,omitempty"`
	VEID       string `json:"veid"`
	ServiceDay string `json:"service_day"`
	AccessEnd  string `json:"access_end"`
}

// redeem serves POST /v1/redemptions (refserver spec 3.3, kassenapi spec
// B3.4 HTTP mapping).
//
// REQ: kassenapi-spec:B3.4
func (h *Handler) redeem(w http.ResponseWriter, r *http.Request) {
	account, ok := h.cfg.Account(r)
	if !ok {
		problem(w, http.StatusUnauthorized, "unauthorized", "Authentication required", nil)
		return
	}
	req, err := DecodeRedeemRequest(r.Body)
	if err != nil {
		problem(w, http.StatusBadRequest, "bad-request", "Malformed request body", nil)
		return
	}
	res, err := h.cfg.Service.Redeem(r.Context(), account, req.Code)
	if err != nil {
		h.redeemError(w, err)
		return
	}
	status := http.StatusOK
	if res.Outcome == billing.Activated {
		status = http.StatusCreated
	}
	writeJSON(w, status, RedemptionView{Outcome: string(res.Outcome), State: "active", VEID: res.VEID,
		ServiceDay: dateOrEmpty(res.ServiceDay.String(), res.ServiceDay.IsZero()), AccessEnd: dateOrEmpty(res.AccessUntil.String(), res.AccessUntil.IsZero())})
}

func dateOrEmpty(s string, zero bool) string {
	if zero {
		return ""
	}
	return s
}

func (h *Handler) redeemError(w http.ResponseWriter, err error) {
	var ie *billing.InvalidCodeError
	switch {
	case errors.As(err, &ie):
		problem(w, http.StatusUnprocessableEntity, "code-invalid", "The code cannot be redeemed", map[string]any{"reason": ie.Reason})
	case errors.Is(err, billing.ErrCodeAlreadyRedeemed), errors.Is(err, billing.ErrActivationLimit):
		problem(w, http.StatusConflict, "code-already-redeemed", "The code has already been redeemed", nil)
	case errors.Is(err, billing.ErrAlreadyActive):
		problem(w, http.StatusConflict, "code-already-redeemed", "The code is already active for this account", nil)
	default:
		if !errors.Is(err, billing.ErrOutcomeUnknown) && !errors.Is(err, billing.ErrRedemptionInProgress) && !errors.Is(err, billing.ErrUnavailable) {
			h.log.Error("redeemapi: redemption failed", "err", err)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter/time.Second)))
		problem(w, http.StatusServiceUnavailable, "insurer-unavailable", "The code cannot be checked right now; retry later", nil)
	}
}

// mine serves GET /v1/redemptions/me.
func (h *Handler) mine(w http.ResponseWriter, r *http.Request) {
	account, ok := h.cfg.Account(r)
	if !ok {
		problem(w, http.StatusUnauthorized, "unauthorized", "Authentication required", nil)
		return
	}
	rs, err := h.cfg.Service.Redemptions(r.Context(), account)
	if err != nil {
		h.log.Error("redeemapi: list redemptions", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter/time.Second)))
		problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
		return
	}
	out := make([]RedemptionView, 0, len(rs))
	for _, x := range rs {
		out = append(out, RedemptionView{State: x.State, RedeemedAt: x.RedeemedAt.UTC().Format(time.RFC3339), VEID: x.VEID,
			ServiceDay: dateOrEmpty(x.ServiceDay.String(), x.ServiceDay.IsZero()), AccessEnd: dateOrEmpty(x.AccessUntil.String(), x.AccessUntil.IsZero())})
	}
	writeJSON(w, http.StatusOK, out)
}

// operator guards the operator endpoints with the configured token
// (constant-time comparison of SHA-256 digests).
func (h *Handler) operator(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		d := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(d[:], h.opDigest[:]) != 1 {
			problem(w, http.StatusUnauthorized, "unauthorized", "Operator token required", nil)
			return
		}
		next(w, r)
	}
}

// InvoiceView is an invoice as shown to operators: never the code.
type InvoiceView struct {
	Number       string          `json:"number"`
	Type         string          `json:"type"`
	State        string          `json:"state"`
	Test         bool            `json:"test"`
	CodeID       string          `json:"code_id"`
	VEID         string          `json:"veid"`
	ServiceDay   string          `json:"service_day"`
	InsurerIK    string          `json:"insurer_ik"`
	Corrects     string          `json:"corrects,omitempty"`
	CorrectedBy  string          `json:"corrected_by,omitempty"`
	Dispatch     int             `json:"dispatch,omitempty"`
	Target       string          `json:"target,omitempty"`
	DispatchedBy string          `json:"dispatched_by,omitempty"`
	DispatchRef  string          `json:"dispatch_reference,omitempty"`
	NeedsReview  bool            `json:"needs_review"`
	Verdict      string          `json:"verdict,omitempty"`
	Messages     json.RawMessage `json:"messages,omitempty"`
	Attempts     int             `json:"attempts"`
	CreatedAt    string          `json:"created_at"`
	UpdatedAt    string          `json:"updated_at"`
}

func view(r billing.InvoiceRow) InvoiceView {
	v := InvoiceView{Number: r.Number, Type: r.Type, State: string(r.State), Test: r.Test, CodeID: r.Redemption.Digest.CodeID(),
		VEID: r.Redemption.VEID, ServiceDay: r.Redemption.ServiceDay.String(), InsurerIK: r.Redemption.InsurerIK,
		Corrects: r.Corrects, CorrectedBy: r.CorrectedBy, Dispatch: r.Dispatch, Target: r.Target, DispatchedBy: r.DispatchedBy,
		DispatchRef: r.DispatchRef, NeedsReview: r.NeedsReview, Verdict: r.Verdict, Attempts: r.Attempts,
		CreatedAt: r.CreatedAt.Format(time.RFC3339), UpdatedAt: r.UpdatedAt.Format(time.RFC3339)}
	if strings.HasPrefix(r.Messages, "[") {
		v.Messages = json.RawMessage(r.Messages)
	} else if r.Messages != "" {
		b, _ := json.Marshal([]map[string]string{{"text": r.Messages}})
		v.Messages = b
	}
	return v
}

var allStates = map[string]bool{}

func init() {
	for _, s := range []billing.InvoiceState{billing.InvoiceQueued, billing.InvoiceSubmitting, billing.InvoiceAccepted, billing.InvoiceAcceptedPresumed,
		billing.InvoiceRejectedFormat, billing.InvoiceRejectedBusiness, billing.InvoiceSubmitUnknown, billing.InvoiceManualPending,
		billing.InvoiceManualSent, billing.InvoiceNeedsAddress, billing.InvoiceNeedsData, billing.InvoiceCancelled} {
		allStates[string(s)] = true
	}
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, def []billing.InvoiceState) {
	states := def
	if q := r.URL.Query().Get("state"); q != "" {
		states = nil
		for _, s := range strings.Split(q, ",") {
			if !allStates[s] {
				problem(w, http.StatusBadRequest, "bad-request", "Unknown invoice state", nil)
				return
			}
			states = append(states, billing.InvoiceState(s))
		}
	}
	limit := 200
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			problem(w, http.StatusBadRequest, "bad-request", "limit must be 1..1000", nil)
			return
		}
		limit = n
	}
	rows, err := h.cfg.Service.ManualQueue(r.Context(), billing.ManualFilter{States: states, Limit: limit})
	if err != nil {
		h.log.Error("redeemapi: list invoices", "err", err)
		problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
		return
	}
	out := make([]InvoiceView, 0, len(rows))
	for _, x := range rows {
		out = append(out, view(x))
	}
	writeJSON(w, http.StatusOK, out)
}

// invoices serves GET /admin/v1/billing/invoices?state=a,b (the billing
// queue; default: every state that needs attention or is in flight).
func (h *Handler) invoices(w http.ResponseWriter, r *http.Request) {
	h.list(w, r, []billing.InvoiceState{billing.InvoiceQueued, billing.InvoiceSubmitting, billing.InvoiceSubmitUnknown,
		billing.InvoiceRejectedFormat, billing.InvoiceRejectedBusiness, billing.InvoiceAcceptedPresumed,
		billing.InvoiceNeedsAddress, billing.InvoiceNeedsData, billing.InvoiceManualPending})
}

// manual serves GET /admin/v1/billing/manual (manual-dispatch queue).
func (h *Handler) manual(w http.ResponseWriter, r *http.Request) {
	h.list(w, r, []billing.InvoiceState{billing.InvoiceManualPending, billing.InvoiceNeedsAddress})
}

// xml serves GET /admin/v1/billing/invoices/{number}/xml for dispatch.
func (h *Handler) xml(w http.ResponseWriter, r *http.Request) {
	doc, err := h.cfg.Service.InvoiceXML(r.Context(), r.PathValue("number"))
	if errors.Is(err, billing.ErrNotFound) {
		problem(w, http.StatusNotFound, "not-found", "No such invoice", nil)
		return
	}
	if err != nil {
		h.log.Error("redeemapi: invoice xml", "err", err)
		problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(doc)
}

// DispatchRequest is the body of the dispatched endpoint.
type DispatchRequest struct {
	By        string `json:"by"`
	Reference string `json:"reference"`
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// dispatched serves POST /admin/v1/billing/invoices/{number}/dispatched.
func (h *Handler) dispatched(w http.ResponseWriter, r *http.Request) {
	var req DispatchRequest
	if err := decode(r, &req); err != nil || req.By == "" || len(req.By) > 200 || len(req.Reference) > 500 {
		problem(w, http.StatusBadRequest, "bad-request", "Body must be {\"by\": string, \"reference\": string}", nil)
		return
	}
	err := h.cfg.Service.MarkDispatched(r.Context(), r.PathValue("number"), req.By, req.Reference)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, billing.ErrNotFound):
		problem(w, http.StatusNotFound, "not-found", "No such invoice", nil)
	case errors.Is(err, billing.ErrConflict):
		problem(w, http.StatusConflict, "invalid-state", "The invoice is not waiting for manual dispatch", nil)
	default:
		h.log.Error("redeemapi: mark dispatched", "err", err)
		problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
	}
}

// CorrectionRequest is the body of the corrections endpoint.
type CorrectionRequest struct {
	NetCents int64  `json:"net_cents"`
	Reason   string `json:"reason"` // Anhang 7: 001..004 or 010:FIELD+FIELD
}

// correct serves POST /admin/v1/billing/invoices/{number}/corrections.
func (h *Handler) correct(w http.ResponseWriter, r *http.Request) {
	var req CorrectionRequest
	if err := decode(r, &req); err != nil {
		problem(w, http.StatusBadRequest, "bad-request", "Body must be {\"net_cents\": int, \"reason\": string}", nil)
		return
	}
	reason, err := xrechnung.ParseCorrectionReason(req.Reason)
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, "invalid-correction", "Unknown correction reason", nil)
		return
	}
	num, err := h.cfg.Service.Correct(r.Context(), r.PathValue("number"), req.NetCents, reason)
	switch {
	case err == nil:
		writeJSON(w, http.StatusCreated, map[string]string{"number": num, "corrects": r.PathValue("number")})
	case errors.Is(err, billing.ErrInvalidCorrection):
		problem(w, http.StatusUnprocessableEntity, "invalid-correction", "The invoice cannot be corrected", nil)
	default:
		h.log.Error("redeemapi: correction", "err", err)
		problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
	}
}

// action serves the operator's resubmit and cancel: 204, 404 or 409.
func (h *Handler) action(f func(ctx context.Context, number string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := f(r.Context(), r.PathValue("number"))
		switch {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, billing.ErrNotFound):
			problem(w, http.StatusNotFound, "not-found", "No such invoice", nil)
		case errors.Is(err, billing.ErrConflict):
			problem(w, http.StatusConflict, "invalid-state", "The invoice is not in a state that allows this", nil)
		default:
			h.log.Error("redeemapi: invoice action", "err", err)
			problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
		}
	}
}

// ReviewRequest is the body of POST /admin/v1/billing/reviews: what the
// insurer confirmed to the operator for a code under review.
type ReviewRequest struct {
	Code       string `json:"code"`
	VEID       string `json:"veid"`
	ServiceDay string `json:"service_day"`
}

// resolve serves POST /admin/v1/billing/reviews (spec B3.3 last row).
func (h *Handler) resolve(w http.ResponseWriter, r *http.Request) {
	var req ReviewRequest
	if err := decode(r, &req); err != nil {
		problem(w, http.StatusBadRequest, "bad-request", "Body must be {\"code\", \"veid\", \"service_day\"}", nil)
		return
	}
	day, err := kassenapi.ParseDate(req.ServiceDay)
	if err != nil {
		problem(w, http.StatusBadRequest, "bad-request", "service_day must be YYYY-MM-DD", nil)
		return
	}
	num, err := h.cfg.Service.ResolveReview(r.Context(), req.Code, req.VEID, day)
	var ie *billing.InvalidCodeError
	switch {
	case err == nil:
		writeJSON(w, http.StatusCreated, map[string]string{"number": num})
	case errors.As(err, &ie):
		problem(w, http.StatusUnprocessableEntity, "code-invalid", "The code is malformed", map[string]any{"reason": ie.Reason})
	case errors.Is(err, billing.ErrConflict):
		problem(w, http.StatusConflict, "invalid-state", "The code is not under review", nil)
	case errors.Is(err, billing.ErrUnavailable), errors.Is(err, billing.ErrStoreUnavailable):
		h.log.Error("redeemapi: resolve review", "err", err)
		problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
	default:
		problem(w, http.StatusBadRequest, "bad-request", "veid must have 8 digits", nil)
	}
}

// summary serves GET /admin/v1/billing/summary: counts for monitoring
// (spec B3.9), never codes.
func (h *Handler) summary(w http.ResponseWriter, r *http.Request) {
	st, err := h.cfg.Service.Stats(r.Context())
	if err != nil {
		h.log.Error("redeemapi: billing summary", "err", err)
		problem(w, http.StatusServiceUnavailable, "unavailable", "Try again later", nil)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
