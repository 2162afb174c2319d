package gtkloop_test

import (
	"image"
	"testing"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

func TestAsyncAwaitsATCPEchoAndSetsALabel(t *testing.T) {
	warmUp(t)
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	ln, port := listenTCP(t)
	const msg = "echoed"
	var win *gtk.Window
	var label *gtk.Label
	var server *echoServer
	var client int
	var bodyTid, doneTid int
	var result string
	var failure error
	shown := make(chan image.Image, 1)

	r.CallSoon(func() {
		label, _ = gtk.LabelNew("")
		label.SetName("big")
		win = newWindow(t, "gtkloop async", 400, 150, label)
		var err error
		if server, err = serveEcho(r, ln); err != nil {
			t.Error(err)
			r.Stop()
			return
		}
		p := deferred.Async(r, func(co *deferred.Co) (string, error) {
			fd, connected := dialTCP(r, port)
			client = fd
			if _, err := deferred.Await(co, connected); err != nil {
				return "", err
			}
			if _, err := unix.Write(fd, []byte(msg)); err != nil {
				return "", err
			}
			v, err := deferred.Await(co, readFull(r, fd, len(msg)))
			if err != nil {
				return "", err
			}
			bodyTid = unix.Gettid()
			label.SetText(v.(string)) // straight from the coroutine: it runs on the GTK thread
			return v.(string), nil
		})
		p.OnValue(func(v string) {
			result, doneTid = v, unix.Gettid()
			// Let GTK draw the label, look at it from a goroutine, then stop.
			go func() {
				shown <- eventually(t, "gtkloop-async-echo", func(img image.Image) bool {
					return count(img, img.Bounds(), red) > 300
				})
				r.CallFromGoroutine(r.Stop)
			}()
		})
		p.OnError(func(err error) { failure = err; r.Stop() })
	})
	ok(t, onMainRun(r))
	if failure != nil {
		t.Fatal(failure)
	}
	img := <-shown
	var text string
	onMain(func() {
		text, _ = label.GetText()
		server.close()
		unix.Close(client)
		win.Destroy()
	})
	if result != msg || text != msg {
		t.Errorf("result %q, label %q; want %q", result, text, msg)
	}
	if bodyTid != mainTid || doneTid != mainTid {
		t.Errorf("coroutine ran on thread %d, its promise settled on %d; GTK's is %d", bodyTid, doneTid, mainTid)
	}
	if n := count(img, img.Bounds(), red); n < 300 {
		t.Errorf("the label's text is not on screen (%d red pixels)", n)
	}
}
