package sqlstore_test

import (
	"fmt"
	"strings"

	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
)

// The schema of both databases: the account database holds digests
// only; the billing database has the sealed code and the append-only
// protocol log.
func ExampleBillingSchema() {
	for _, s := range sqlstore.MainSchema(sqlstore.Postgres) {
		if strings.HasPrefix(s, "CREATE TABLE") {
			fmt.Println("main:", strings.Fields(s)[5])
		}
	}
	for _, s := range sqlstore.BillingSchema(sqlstore.SQLite) {
		if strings.HasPrefix(s, "CREATE TABLE") || strings.HasPrefix(s, "CREATE TRIGGER") {
			fmt.Println("billing:", strings.Fields(s)[5])
		}
	}
	// Output:
	// main: redemption_bindings
	// main: redemption_activations
	// billing: billing_redemptions
	// billing: billing_series
	// billing: billing_invoices
	// billing: billing_protocol
	// billing: billing_protocol_audit_pending
	// billing: billing_protocol_no_update
	// billing: billing_protocol_no_delete
}
