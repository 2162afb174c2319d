// Package wintest drives real windows in GUI tests as a person would:
// finds a window by its title, sends it input through xdotool, and takes
// a screenshot of that window (import -window, never the root window,
// which other windows may cover) into the repository's out/ folder.
package wintest

import (
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// WindowID waits for a visible window titled exactly title and returns
// its id (the newest, if there are several).
func WindowID(t testing.TB, title string) string {
	t.Helper()
	out, err := exec.Command("xdotool", "search", "--sync", "--onlyvisible", "--name", "^"+regexp.QuoteMeta(title)+"$").Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) == 0 {
		t.Fatalf("xdotool search %q: %v", title, err)
	}
	return ids[len(ids)-1]
}

// Xdotool runs xdotool with args, failing t if it fails.
func Xdotool(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
}

// Grab saves a screenshot of window id as out/name.png, for people to look
// at, and returns it decoded.
func Grab(t testing.TB, id, name string) image.Image {
	t.Helper()
	dir := OutDir(t)
	path := filepath.Join(dir, name+".png")
	if out, err := exec.Command("import", "-window", id, path).CombinedOutput(); err != nil {
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

// OutDir returns the repository's out/ folder (beside go.mod), made if
// missing.
func OutDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = up
	}
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}
