package sqlstore_test

import "os"

func testingLong() bool { return os.Getenv("DIGAKIT_LONG") == "1" }
