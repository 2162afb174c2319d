package gtkloop_test

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gdk"
	"github.com/gotk3/gotk3/gtk"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

// start runs gtkloop.Run(r) on the GTK thread without waiting for it;
// wait returns Run's error once the reactor has stopped. While it runs,
// the test goroutine reaches the reactor only through onLoop.
func start(t testing.TB, r *reactor.Reactor, opts ...gtkloop.Option) (wait func() error) {
	t.Helper()
	done := make(chan error, 1)
	mainq <- func() { done <- gtkloop.Run(r, opts...) }
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() {
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				r.CallFromGoroutine(r.Stop)
				err = <-done
				if err == nil {
					err = fmt.Errorf("gtkloop.Run still running after 20s: stopped it")
				}
			}
		})
		return err
	}
	t.Cleanup(func() {
		r.CallFromGoroutine(r.Stop)
		wait()
	})
	return wait
}

// onLoop runs f on the reactor goroutine (the GTK thread, inside Run)
// and waits for it.
func onLoop(r *reactor.Reactor, f func()) {
	done := make(chan struct{})
	r.CallFromGoroutine(func() {
		defer close(done)
		f()
	})
	<-done
}

// outDir is where screenshots are kept for people to look at.
func outDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshots takes a picture of each visible window of this process,
// one at a time (raised, then import -window ID), so that windows of
// other programs on the same display never spoil them. It must not be
// called on the GTK thread, which must keep drawing meanwhile.
func screenshots(t testing.TB, name string) []image.Image {
	t.Helper()
	out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--pid", fmt.Sprint(os.Getpid()), "").Output()
	var imgs []image.Image
	for _, id := range strings.Fields(string(out)) {
		exec.Command("xdotool", "windowraise", id).Run()
		// A window may go between the search and the picture: skip it.
		if img, err := grabWindow(id, filepath.Join(outDir(t), name+".png")); err == nil {
			imgs = append(imgs, img)
		}
	}
	return imgs
}

// count counts the pixels of img inside rect that match.
func count(img image.Image, rect image.Rectangle, match func(r, g, b uint8) bool) int {
	n := 0
	rect = rect.Intersect(img.Bounds())
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if match(c.R, c.G, c.B) {
				n++
			}
		}
	}
	return n
}

func red(r, g, b uint8) bool   { return r > 200 && g < 70 && b < 70 }
func green(r, g, b uint8) bool { return g > 160 && r < 70 && b < 70 }

// style gives the tests' widgets colors a screenshot can find.
const style = `
#big { color: #ff0000; font-size: 60px; font-weight: bold; }
#bar progress { background-color: #00d000; background-image: none; border: none; min-height: 40px; }
#bar trough { background-color: #ffffff; background-image: none; border: none; min-height: 40px; }
`

var styleOnce sync.Once

// loadStyle installs style for the default screen; GTK thread.
func loadStyle(t testing.TB) {
	styleOnce.Do(func() {
		p, err := gtk.CssProviderNew()
		if err == nil {
			err = p.LoadFromData(style)
		}
		if err != nil {
			t.Errorf("css: %v", err)
			return
		}
		screen, err := gdk.ScreenGetDefault()
		if err != nil {
			t.Errorf("screen: %v", err)
			return
		}
		gtk.AddProviderForScreen(screen, p, gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
	})
}

// newWindow makes a toplevel window at the screen's top left corner
// holding child; GTK thread.
func newWindow(t testing.TB, title string, w, h int, child gtk.IWidget) *gtk.Window {
	win, err := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	if err != nil {
		t.Errorf("window: %v", err)
		return nil
	}
	win.SetTitle(title)
	win.SetDefaultSize(w, h)
	win.Move(0, 0)
	if child != nil {
		win.Add(child)
	}
	win.ShowAll()
	return win
}

// ok fails t with err if there is one, from any goroutine.
func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

// eventually takes screenshots of this process's windows until cond
// holds on one of them, for up to 5s, and returns it (saved as
// out/name.png), or the last one taken.
func eventually(t testing.TB, name string, cond func(img image.Image) bool) image.Image {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last image.Image = image.NewRGBA(image.Rect(0, 0, 1, 1))
	for {
		for _, img := range screenshots(t, name) {
			last = img
			if cond(img) {
				save(t, img, name)
				return img
			}
		}
		if time.Now().After(deadline) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// save writes img as out/name.png.
func save(t testing.TB, img image.Image, name string) {
	t.Helper()
	f, err := os.Create(filepath.Join(outDir(t), name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// click clicks mouse button 1 at (x, y) inside the window titled title,
// as a user would, through the X server (xdotool's XTEST events).
func click(t testing.TB, title string, x, y int) {
	t.Helper()
	out, err := exec.Command("xdotool", "search", "--sync", "--onlyvisible", "--name", "^"+title+"$").Output()
	if err != nil {
		t.Fatalf("xdotool search %q: %v", title, err)
	}
	var id string
	fmt.Sscan(string(out), &id)
	for _, args := range [][]string{
		{"mousemove", "--sync", "--window", id, fmt.Sprint(x), fmt.Sprint(y)},
		{"click", "1"},
	} {
		if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
	}
}

// center is the middle of w's allocation, in its toplevel's coordinates.
func center(w *gtk.Widget) (x, y int) {
	a := w.GetAllocation()
	return a.GetX() + a.GetWidth()/2, a.GetY() + a.GetHeight()/2
}
