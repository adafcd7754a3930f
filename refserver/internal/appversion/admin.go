package appversion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// PolicyWriter stores policy changes; appversion/sqlstore.Store
// implements it.
type PolicyWriter interface {
	PolicySource
	Set(ctx context.Context, p Policy, actor string) (Policy, error)
}

// AdminConfig holds the settings of [Gate.AdminHandler].
type AdminConfig struct {
	// Store persists changes (required).
	Store PolicyWriter
	// Actor names the authenticated operator of r for the history and the
	// app_policy_changed event ("admin:<subject>", 1-64 of
	// [A-Za-z0-9._:-]). Nil means "admin".
	Actor func(r *http.Request) string
	// IsConflict reports a concurrent change (answered 409); nil treats
	// every store error as 503.
	IsConflict func(error) bool
}

// maxPolicyBody caps the PUT body.
const maxPolicyBody = 16 << 10

// AdminHandler serves the admin API of the update service (refserver
// spec §1 admin listener, role operator; authentication and role checks
// are the caller's):
//
//	GET /admin/v1/app-policies             → 200 [Policy...] (stored ∪ configured)
//	PUT /admin/v1/app-policies/{platform}  → 200 Policy with its new revision
//
// The PUT body is one Policy document (platform may be omitted; when
// present it must equal the path), decoded strictly (unknown members,
// trailing data and bodies over 16 KiB rejected). Invalid documents
// answer 400 invalid-policy naming the member, an unknown platform 404,
// a concurrent change 409, a store failure 503. A stored change is
// installed in the gate at once.
//
// REQ: TR03161-3:O.Arch_12
func (g *Gate) AdminHandler(cfg AdminConfig) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("appversion: AdminConfig.Store is required")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/app-policies", func(w http.ResponseWriter, r *http.Request) {
		if err := g.refreshFrom(r.Context(), cfg.Store); err != nil {
			writeProblem(w, http.StatusServiceUnavailable, problem{Type: "/problems/store-unavailable", Title: "Policy store unavailable",
				Status: http.StatusServiceUnavailable, Code: "store-unavailable"})
			return
		}
		ps := g.Policies()
		if ps == nil {
			ps = []Policy{}
		}
		writeJSON(w, http.StatusOK, ps)
	})
	mux.HandleFunc("PUT /admin/v1/app-policies/{platform}", func(w http.ResponseWriter, r *http.Request) {
		plat := Platform(r.PathValue("platform"))
		if !plat.Valid() {
			writeProblem(w, http.StatusNotFound, problem{Type: "/problems/not-found", Title: "Not Found", Status: http.StatusNotFound, Code: "not-found"})
			return
		}
		p, perr := decodePolicyBody(w, r)
		if perr == nil && p.Platform != "" && p.Platform != plat {
			perr = &PolicyError{Field: "platform", Message: "differs from the path"}
		}
		if perr != nil {
			body := problem{Type: "/problems/invalid-policy", Title: "Invalid app policy", Status: http.StatusBadRequest, Code: "invalid-policy"}
			var pe *PolicyError
			if errors.As(perr, &pe) {
				body.Detail = pe.Field + ": " + pe.Message
			} else {
				body.Detail = perr.Error()
			}
			writeProblem(w, http.StatusBadRequest, body)
			return
		}
		p.Platform = plat
		if err := p.Validate(); err != nil {
			var pe *PolicyError
			errors.As(err, &pe)
			writeProblem(w, http.StatusBadRequest, problem{Type: "/problems/invalid-policy", Title: "Invalid app policy",
				Status: http.StatusBadRequest, Code: "invalid-policy", Detail: pe.Field + ": " + pe.Message})
			return
		}
		actor := "admin"
		if cfg.Actor != nil {
			actor = cfg.Actor(r)
		}
		stored, err := cfg.Store.Set(r.Context(), p, actor)
		if err != nil {
			if cfg.IsConflict != nil && cfg.IsConflict(err) {
				writeProblem(w, http.StatusConflict, problem{Type: "/problems/conflict", Title: "Concurrent change", Status: http.StatusConflict, Code: "conflict"})
				return
			}
			writeProblem(w, http.StatusServiceUnavailable, problem{Type: "/problems/store-unavailable", Title: "Policy store unavailable",
				Status: http.StatusServiceUnavailable, Code: "store-unavailable"})
			return
		}
		_ = g.SetPolicies(stored)
		writeJSON(w, http.StatusOK, stored)
	})
	return mux, nil
}

// refreshFrom loads policies from src into the gate.
func (g *Gate) refreshFrom(ctx context.Context, src PolicySource) error {
	ps, err := src.LoadPolicies(ctx)
	if err != nil {
		return err
	}
	return g.SetPolicies(ps...)
}

// decodePolicyBody reads one strict JSON Policy of at most maxPolicyBody
// bytes. Errors never quote the body.
func decodePolicyBody(w http.ResponseWriter, r *http.Request) (Policy, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return Policy{}, errors.New("want Content-Type application/json")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicyBody))
	if err != nil {
		return Policy{}, errors.New("body too large or unreadable")
	}
	if err := noDuplicateKeys(b); err != nil {
		return Policy{}, err
	}
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, errors.New("body is not a policy document (unknown member or wrong type)")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Policy{}, errors.New("trailing data after the policy document")
	}
	p.Revision = 0
	return p, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// noDuplicateKeys rejects JSON with a member name twice in one object
// (encoding/json would silently keep the last).
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 {
				return errors.New("body is not valid JSON")
			}
			return nil
		}
		if err != nil {
			return errors.New("body is not valid JSON")
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: t == '{', keys: map[string]bool{}, key: t == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.obj && top.key {
				if top.keys[t] {
					return errors.New("duplicate member in the policy document")
				}
				top.keys[t] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}
