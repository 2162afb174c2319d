package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/servers"
)

// The program itself, built and run as scripts/demo runs it: it starts
// its servers, shows its window, writes the state file, and ends cleanly
// on SIGTERM (what a session's end sends).
func TestTheProgramRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "netclient-gtk")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "state.json")
	cmd := exec.Command(bin, "-state-file", state, "-downloads", filepath.Join(dir, "downloads"), "-quit-after", "2m")
	out, _ := os.Create(filepath.Join(dir, "log"))
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	var st netclient.State
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(state)
		if err == nil && json.Unmarshal(b, &st) == nil && st.Layout["connect"].W > 0 {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("the program ended (%v) before its window was up:\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no state file with the window's layout after 30s")
		}
	}
	if st.Toolkit != "gtk" || st.Window != Title || !strings.HasPrefix(st.Console.Addr, "127.0.0.1:") ||
		len(st.URLs) == 0 || st.Downloads != filepath.Join(dir, "downloads") {
		t.Errorf("state file: %+v", st)
	}
	windowID(t, Title)

	// The loop runs: the line server, on the program's reactor, greets.
	c, err := net.DialTimeout("tcp", st.Console.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	greeting, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if greeting != servers.Greeting+"\r\n" {
		t.Errorf("the line server said %q (%v)", greeting, err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Errorf("after SIGTERM the program ended with %v:\n%s", err, log)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("the program still runs 20s after SIGTERM")
	}
}
