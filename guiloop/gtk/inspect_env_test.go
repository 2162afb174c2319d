package gtkloop_test

import (
	"testing"
	"time"

	"github.com/gotk3/gotk3/gtk"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
)

// LOOM_INSPECT=1 opens the inspector of every reactor gtkloop drives,
// without a rebuild.
func TestInspectFromEnvironment(t *testing.T) {
	t.Setenv("LOOM_INSPECT", "1")
	r := newReactor(t)
	wait := start(t, r)
	var win *gtk.Window
	for end := time.Now().Add(5 * time.Second); win == nil && time.Now().Before(end); {
		onLoop(r, func() { win = gtkloop.InspectorWindow(r) })
		time.Sleep(10 * time.Millisecond)
	}
	if win == nil {
		t.Fatal("no inspector with LOOM_INSPECT=1")
	}
	onLoop(r, func() {
		if title, _ := win.GetTitle(); title != "loom inspector" {
			t.Errorf("the window's title is %q", title)
		}
		r.Stop()
	})
	ok(t, wait())
}
