package xvfb

import (
	"os"
	"os/exec"
	"testing"
)

func TestEnsureStartsAServer(t *testing.T) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb not installed")
	}
	t.Setenv("DISPLAY", "")
	os.Unsetenv("DISPLAY")
	stop, err := Ensure()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	d := os.Getenv("DISPLAY")
	if d == "" {
		t.Fatal("DISPLAY not set")
	}
	if _, err := exec.LookPath("xdpyinfo"); err == nil {
		if out, err := exec.Command("xdpyinfo", "-display", d).CombinedOutput(); err != nil {
			t.Fatalf("display %s does not answer: %v\n%s", d, err, out)
		}
	}
}

// ForTest starts a server of its own even when DISPLAY names another,
// and puts DISPLAY back when stopped.
func TestForTestIgnoresTheDesktop(t *testing.T) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb not installed")
	}
	t.Setenv("DISPLAY", ":4242")
	t.Setenv("LOOM_TEST_DISPLAY", "")
	stop, err := ForTest()
	if err != nil {
		t.Fatal(err)
	}
	d := os.Getenv("DISPLAY")
	if d == ":4242" || d == "" {
		t.Errorf("DISPLAY = %q: ForTest kept the desktop's display", d)
	}
	if _, err := exec.LookPath("xdpyinfo"); err == nil {
		if out, err := exec.Command("xdpyinfo", "-display", d).CombinedOutput(); err != nil {
			t.Errorf("display %s does not answer: %v\n%s", d, err, out)
		}
	}
	stop()
	if got := os.Getenv("DISPLAY"); got != ":4242" {
		t.Errorf("DISPLAY after stop = %q, want the desktop's back", got)
	}
}
