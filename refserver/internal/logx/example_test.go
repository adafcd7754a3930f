package logx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/digakit/digakit/refserver/internal/logx"
)

func ExampleNew() {
	var buf bytes.Buffer
	log := logx.New(&buf, logx.Options{Instance: "web-1"})
	log.Info("login failed", "route", "POST /login", "password", "hunter2", slog.Group("req", "cookie", "sid=abc"))

	var rec map[string]any
	_ = json.Unmarshal(buf.Bytes(), &rec)
	fmt.Println(rec["msg"], rec["log_kind"], rec["route"], rec["password"], rec["req"])
	// Output: login failed app POST /login [redacted] map[cookie:[redacted]]
}
