// Package redeemapi serves the Freischaltcode redemption endpoints of the
// reference server (refserver spec 3.3) and the operator endpoints of the
// billing queue and manual dispatch (kassenapi spec B3.6, B3.10) on top of
// kassenapi/billing.
//
//   - POST /v1/redemptions {"code": "..."}: 201 bound (first activation),
//     200 already bound to the caller, 409 code-already-redeemed (bound to
//     or being redeemed by another account, activation limit), 422
//     code-invalid with a reason (format, checksum, test_code,
//     unknown_prefix, insurer_insolvent, no_endpoint, expired, cancelled,
//     not_found) and never the code, 503 insurer-unavailable with
//     Retry-After (transient, FEH 200, outcome unknown, in progress).
//   - GET /v1/redemptions/me: the caller's redemptions [{redeemed_at,
//     veid, service_day, access_end, state}], never the code or its hash.
//   - Operator (Bearer operator token until role-based admin auth lands):
//     GET /admin/v1/billing/invoices?state=…, GET /admin/v1/billing/manual,
//     GET /admin/v1/billing/invoices/{number}/xml,
//     POST /admin/v1/billing/invoices/{number}/dispatched {by, reference},
//     POST /admin/v1/billing/invoices/{number}/corrections {net_cents, reason}.
//
// The package takes the authenticated account through an AccountFunc, so
// that it does not depend on the auth service; Routes returns the route
// table entries with their OpenAPI operation ids (refserver/api/openapi.yaml).
package redeemapi
