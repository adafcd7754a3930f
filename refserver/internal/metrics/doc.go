// Package metrics holds the server's Prometheus registry (refserver spec
// §3.6): the standard Go and process collectors, digakit_build_info and
// the HTTP request metrics, labelled by listener, route template, method
// and status code. Label values never carry ids, pseudonyms or free text:
// the route label is the mux pattern, never the raw path.
package metrics
