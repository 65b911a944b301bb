package tooltest

import "testing"

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"module github.com/cointrail/cointrail\n\ngo 1.26\n": "github.com/cointrail/cointrail",
		"// comment\nmodule \"example.com/x\"\n":             "example.com/x",
		"go 1.26\n":                                          "",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}
