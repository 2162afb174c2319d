package fyneloop_test

import (
	"testing"
	"time"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
)

// LOOM_INSPECT=1 opens the inspector of every reactor a Pump drives,
// without a rebuild.
func TestInspectFromEnvironment(t *testing.T) {
	t.Setenv("LOOM_INSPECT", "1")
	r := newReactor(t, "epoll")
	start(t, theApp, r)
	var in *fyneloop.Inspector
	for end := time.Now().Add(5 * time.Second); in == nil && time.Now().Before(end); {
		in = fyneloop.OpenInspectorOf(r)
		time.Sleep(10 * time.Millisecond)
	}
	if in == nil {
		t.Fatal("no inspector with LOOM_INSPECT=1")
	}
	title := make(chan string, 1)
	r.CallFromGoroutine(func() { title <- in.Window().Title(); in.Close() })
	if got := within(t, title, 5*time.Second, "the title"); got != fyneloop.InspectorTitle {
		t.Errorf("the window's title is %q", got)
	}
}
