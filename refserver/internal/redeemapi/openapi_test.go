package redeemapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/digakit/digakit/refserver/internal/redeemapi"
)

// TestRoutesDocumented: every route of the package has an OpenAPI
// operation with the same method, path and operationId, and the document
// is valid OpenAPI 3.0.
func TestRoutesDocumented(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := redeemapi.New(redeemapi.Config{Service: newFixture(t, "sqlite").svc, OperatorToken: "x",
		Account: func(*http.Request) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range h.Routes() {
		item := doc.Paths.Find(r.Pattern)
		if item == nil {
			t.Fatalf("%s %s not documented", r.Method, r.Pattern)
		}
		op := item.GetOperation(r.Method)
		if op == nil || op.OperationID != r.OperationID {
			t.Fatalf("%s %s: operation %v, want id %s", r.Method, r.Pattern, op, r.OperationID)
		}
	}
}
