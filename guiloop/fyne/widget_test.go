package fyneloop_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// signal is the colour of a rectangle the reactor paints, easy to find in
// a screenshot.
var signal = color.NRGBA{R: 0x20, G: 0xb0, B: 0x40, A: 0xff}

// TestWidgetsOnScreen updates a Label, a ProgressBar and a rectangle from
// reactor timers in a real window under X, with no fyne.Do anywhere, and
// checks the screen: the rectangle's colour and the progress bar's fill
// in screenshots of the test's window taken at half and full progress
// (out/fyne-*.png), and that Fyne's own thread checks never complained.
// The display may be shared with other programs' windows (other test
// packages, a desktop): each screenshot raises the test's window and
// captures it alone.
func TestWidgetsOnScreen(t *testing.T) {
	reactortest.CheckLeaks(t)
	shot, err := exec.LookPath("import")
	if err != nil {
		t.Fatal("the screenshots need ImageMagick's import (apt-get install imagemagick)")
	}
	if _, err := exec.LookPath("xdotool"); err != nil {
		t.Fatal("finding the test's window needs xdotool (apt-get install xdotool)")
	}
	complaints := watchFyneLog(t)

	label := widget.NewLabel("waiting")
	bar := widget.NewProgressBar()
	rect := canvas.NewRectangle(color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff})
	rect.SetMinSize(fyne.NewSize(200, 80))
	onFyne(func() {
		theWindow.SetContent(container.NewVBox(label, bar, rect))
		theWindow.Resize(fyne.NewSize(400, 300))
	})

	// progress runs a pump that moves the bar from its value to upTo in
	// steps of 0.1, one every 20ms, then stops the reactor.
	progress := func(from, upTo int) {
		r := newReactor(t, reactor.Backends()[0])
		wrong := 0
		step := from
		var tick func()
		tick = func() {
			if fyneloop.Goid() != mainG {
				wrong++
			}
			step++
			bar.SetValue(float64(step) / 10)
			label.SetText(fmt.Sprintf("step %d of 10", step))
			if step == 10 {
				rect.FillColor = signal
				rect.Refresh()
			}
			if step == upTo {
				r.Stop()
				return
			}
			r.CallLater(20*time.Millisecond, tick)
		}
		r.CallLater(20*time.Millisecond, tick)
		p := start(t, theApp, r)
		waitDone(t, p, 10*time.Second)
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if wrong > 0 {
			t.Errorf("%d updates ran off Fyne's goroutine", wrong)
		}
	}

	primary := toNRGBA(theme.Color(theme.ColorNamePrimary))
	progress(0, 5)
	half := screenshot(t, shot, "fyne-progress-half.png")
	progress(5, 10)
	full := screenshot(t, shot, "fyne-progress-full.png")

	var text string
	var value float64
	onFyne(func() { text, value = label.Text, bar.Value })
	if text != "step 10 of 10" || value != 1 {
		t.Errorf("label %q, bar %v after the reactor ran", text, value)
	}
	if n := count(half, signal); n != 0 {
		t.Errorf("%d pixels of the signal colour at half progress, before it was set", n)
	}
	if n := count(full, signal); n < 200*80*9/10 {
		t.Errorf("%d pixels of the signal colour on screen, want the 200x80 rectangle", n)
	}
	a, b := count(half, primary), count(full, primary)
	t.Logf("progress bar fill: %d pixels at half, %d at full", a, b)
	if a == 0 || b < a*3/2 || b > a*5/2 {
		t.Errorf("progress bar fill %d pixels at half, %d at full: want about twice", a, b)
	}
	if c := complaints(); c != "" {
		t.Errorf("Fyne's thread checks complained:\n%s", c)
	}
}

// screenshot raises the test's window above any other on the display,
// gives Fyne time to draw a few frames (among them, what the raise
// exposed), saves the window's contents in the repository's out/
// directory and returns them.
func screenshot(t *testing.T, bin, name string) image.Image {
	t.Helper()
	id := ownWindow(t)
	if out, err := exec.Command("xdotool", "windowraise", id).CombinedOutput(); err != nil {
		t.Fatalf("xdotool windowraise %s: %v\n%s", id, err, out)
	}
	onFyne(func() {})
	time.Sleep(300 * time.Millisecond)
	dir := filepath.Join(repoRoot(t), "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if out, err := exec.Command(bin, "-window", id, path).CombinedOutput(); err != nil {
		t.Fatalf("import -window %s: %v\n%s", id, err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return img
}

// ownWindow returns the X window id of theWindow, found by its title,
// which no other process's window has.
func ownWindow(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible",
		"--name", "^"+regexp.QuoteMeta(windowTitle)+"$").Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) == 0 {
		t.Fatalf("xdotool search for the window titled %q: %v (found %q)", windowTitle, err, out)
	}
	if len(ids) > 1 {
		t.Fatalf("%d windows titled %q, want one: %v", len(ids), windowTitle, ids)
	}
	return ids[0]
}

// count counts the pixels of img within 2 of c in each channel.
func count(img image.Image, c color.NRGBA) int {
	near := func(a, b uint8) bool { return a >= b-min(b, 2) && a <= b+min(255-b, 2) }
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			p := toNRGBA(img.At(x, y))
			if near(p.R, c.R) && near(p.G, c.G) && near(p.B, c.B) {
				n++
			}
		}
	}
	return n
}

func toNRGBA(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// watchFyneLog copies the standard logger's output (where Fyne's thread
// checks write "Error in Fyne call thread") and returns a function that
// reports those complaints.
func watchFyneLog(t *testing.T) func() string {
	var mu sync.Mutex
	var buf bytes.Buffer
	prev := log.Writer()
	log.SetOutput(io.MultiWriter(prev, lockedWriter{&mu, &buf}))
	t.Cleanup(func() { log.SetOutput(prev) })
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, "Fyne call thread") {
				out = append(out, line)
			}
		}
		return strings.Join(out, "\n")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
