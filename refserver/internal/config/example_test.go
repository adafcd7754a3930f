package config_test

import (
	"fmt"

	"github.com/digakit/digakit/refserver/internal/config"
)

func ExampleLoad() {
	env := map[string]string{"DIGAKIT_DATA": "/srv/digakit"}
	cfg, err := config.Load(config.Flags{Addr: "127.0.0.1:9000"}, func(k string) string { return env[k] })
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Addr, cfg.DB.DSN, cfg.Billing.DSN, cfg.SandboxEnabled(), cfg.Validate())
	// Output: 127.0.0.1:9000 sqlite:/srv/digakit/digakit.db sqlite:/srv/digakit/billing.db true <nil>
}
