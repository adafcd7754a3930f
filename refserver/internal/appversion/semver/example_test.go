package semver_test

import (
	"fmt"

	"github.com/digakit/digakit/refserver/internal/appversion/semver"
)

func ExampleParse() {
	for _, s := range []string{"1.4.0-beta+exp.7", "v1.4.0", "1.04.0"} {
		v, err := semver.Parse(s)
		if err != nil {
			fmt.Println(s, "rejected:", err)
			continue
		}
		fmt.Println(v.Major, v.Minor, v.Patch, v.Pre, v.Build)
	}
	// Output:
	// 1 4 0 [beta] exp.7
	// v1.4.0 rejected: semver: version is not strict SemVer 2.0.0
	// 1.04.0 rejected: semver: version is not strict SemVer 2.0.0
}

func ExampleVersion_Compare() {
	a, _ := semver.Parse("1.4.0-beta")
	b, _ := semver.Parse("1.4.0")
	c, _ := semver.Parse("1.4.0+build.9")
	fmt.Println(a.Compare(b), b.Compare(c), a.Less(b))
	// Output: -1 0 true
}
