package gtkloop_test

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The embedding guide's programs (guide/gtkmain, guide/application) are
// built and used as a person would: their window is found on the screen,
// the button is pressed from the keyboard, the result shows, and Quit
// ends the program the way it always ended; the reactor's Shutdown
// triggers ran on the way out.
func TestEmbeddingGuidePrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	for _, c := range []struct{ dir, title string }{
		{"gtkmain", "loom guide: gtk.Main"},
		{"application", "loom guide: gtk.Application"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), c.dir)
			args := []string{"build", "-o", bin}
			if raceEnabled {
				args = append(args, "-race")
			}
			build := exec.Command("go", append(args, "./guide/"+c.dir)...)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0 halt_on_error=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var said []string
			expect := func(prefix string) string {
				t.Helper()
				timeout := time.After(20 * time.Second)
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							t.Fatalf("the program ended before saying %q; it said %q", prefix, said)
						}
						said = append(said, l)
						if strings.HasPrefix(l, prefix) {
							return l
						}
					case <-timeout:
						t.Fatalf("the program did not say %q in 20s; it said %q", prefix, said)
					}
				}
			}
			expect("ready")
			id := windowID(t, c.title)
			// The window's widgets, top to bottom: the clock, Count
			// primes, the result, Quit.
			click(t, c.title, 160, 58)
			if got := expect("result:"); got != "result: 148933" {
				t.Errorf("the program said %q, want result: 148933", got)
			}
			img := windowShot(t, id, "gtkloop-guide-"+c.dir)
			if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 150 {
				t.Errorf("the screenshot of the window is %v", b)
			}
			click(t, c.title, 160, 144) // Quit
			expect("shutdown: saved")
			if err := cmd.Wait(); err != nil {
				t.Errorf("the program ended with %v after %q", err, said)
			}
		})
	}
}

// windowID finds the visible window titled title (xdotool, waiting for it).
func windowID(t testing.TB, title string) string {
	t.Helper()
	out, err := exec.Command("xdotool", "search", "--sync", "--onlyvisible", "--name", "^"+title+"$").Output()
	if err != nil {
		t.Fatalf("xdotool search %q: %v", title, err)
	}
	var id string
	fmt.Sscan(string(out), &id)
	return id
}

func xdotool(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
}

// windowShot takes a picture of the window id alone (import -window), so
// that other windows on the display cannot spoil it, and saves it as
// out/name.png.
func windowShot(t testing.TB, id, name string) image.Image {
	t.Helper()
	img, err := grabWindow(id, filepath.Join(outDir(t), name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// grabWindow saves a picture of window id to path and returns it. Any
// goroutine.
func grabWindow(id, path string) (image.Image, error) {
	if out, err := exec.Command("import", "-window", id, path).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("import -window %s: %v\n%s", id, err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}
