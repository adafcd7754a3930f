//go:build !production

package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/digakit/digakit/refserver/internal/sandbox"
)

func ExampleStart() {
	sb, err := sandbox.Start(context.Background(), sandbox.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sb.Close()
	// One JSON member per running fake peer.
	doc, _ := json.Marshal(sb.Info())
	var members map[string]json.RawMessage
	_ = json.Unmarshal(doc, &members)
	fmt.Println(len(members) == len(sb.Names()))
	// Output: true
}
