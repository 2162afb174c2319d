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
