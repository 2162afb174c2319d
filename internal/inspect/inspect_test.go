package inspect

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestShort(t *testing.T) {
	for in, want := range map[string]string{
		"/src/loom/guiloop/gtk/inspector.go:12": "gtk/inspector.go:12",
		"gtk/inspector.go:12":                   "gtk/inspector.go:12",
		"inspector.go:12":                       "inspector.go:12",
		"":                                      "",
	} {
		if got := ShortSite(in); got != want {
			t.Errorf("ShortSite(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"github.com/loomkit/loom/reactor.(*Reactor).Stop":      "reactor.(*Reactor).Stop",
		"github.com/loomkit/loom/guiloop/gtk_test.TestX.func1": "gtk_test.TestX.func1",
		"main.main.func2": "main.main.func2",
		"example.com/a.F[go.shape.*example.com/b.T].func1": "a.F[go.shape.*example.com/b.T].func1",
		"": "",
	} {
		if got := ShortFunc(in); got != want {
			t.Errorf("ShortFunc(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDescribeFD(t *testing.T) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	if got := DescribeFD(p[0]); !strings.HasPrefix(got, "pipe") {
		t.Errorf("a pipe is %q", got)
	}
	unix.Close(p[0])
	if got := DescribeFD(p[0]); !strings.HasPrefix(got, "closed") {
		t.Errorf("a closed descriptor is %q", got)
	}
}
