package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/digakit/digakit/refserver/internal/app"
	"github.com/digakit/digakit/refserver/internal/config"
)

func ExampleStart() {
	dir, _ := os.MkdirTemp("", "app-example")
	defer os.RemoveAll(dir)
	cfg, _ := config.Load(config.Flags{Addr: "127.0.0.1:0", Data: filepath.Join(dir, "data")}, func(string) string { return "" })
	srv, err := app.Start(context.Background(), app.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Getuid: func() int { return 1000 }})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())

	resp, err := http.Get(srv.Addrs["public"] + "/readyz")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output: 200 {"checks":{"audit_head":"ok","billing_db":"ok","checkpoint_signer":"ok","db":"ok","migrations":"ok"}}
}
