// Package sandbox starts every fake outside peer that digakit ships on
// loopback (refserver spec §3.11): the fake insurer and directory, the
// federation, the Konnektor, the ePA and the notification fakes, each as
// it lands. `digakit sandbox` prints their URLs and trust material as one
// JSON document; `digakit serve` without real peers starts the same fakes
// in-process and wires them as the real peers would be.
//
// The package is compiled only without the `production` build tag: a
// release build cannot start a fake.
package sandbox
