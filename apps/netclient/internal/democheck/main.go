// Command democheck is what scripts/demo asks, as it drives a netclient
// window with xdotool, whether each step shows what it should. It reads
// the state file the window writes (-state-file: what the view shows,
// where the widgets are, their colours) and the screenshot of the step:
//
//	democheck wait STATE STEP            wait (20s at most) until the view is at STEP
//	democheck where STATE WIDGET         print the middle of WIDGET, "x y", in the window
//	democheck url STATE N                print the N-th URL the window offers
//	democheck id STATE N                 print the id of the N-th transfer listed
//	democheck check STATE BEFORE PNG STEP
//	                                     check the screenshot PNG of STEP: the state file
//	                                     as it was just before (BEFORE) and now (STATE)
//	                                     bound what the picture may show
//
// Steps: start, connected, sent, downloading, cancelled, done. It exits
// 1, saying what is wrong, when a step is not what it should be.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/internal/pixels"
	"github.com/loomkit/loom/apps/netclient/servers"
)

// The line the demo sends and the answer it waits for.
const (
	Line   = "UPPER hello loom"
	Answer = "HELLO LOOM"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "democheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: democheck wait|where|url|id|check STATE ...")
	}
	cmd, path, rest := args[0], args[1], args[2:]
	switch {
	case cmd == "wait" && len(rest) == 1:
		return wait(path, rest[0], 20*time.Second)
	case cmd == "where" && len(rest) == 1:
		st, err := load(path)
		if err != nil {
			return err
		}
		r, ok := st.Layout[rest[0]]
		if !ok {
			return fmt.Errorf("the window does not say where %s is", rest[0])
		}
		x, y := r.Center()
		fmt.Println(x, y)
		return nil
	case cmd == "url" && len(rest) == 1:
		st, err := load(path)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 || n >= len(st.URLs) {
			return fmt.Errorf("no URL %s among %q", rest[0], st.URLs)
		}
		fmt.Println(st.URLs[n])
		return nil
	case cmd == "id" && len(rest) == 1:
		st, err := load(path)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 || n >= len(st.Transfers) {
			return fmt.Errorf("no transfer %s among %d", rest[0], len(st.Transfers))
		}
		fmt.Println(st.Transfers[n].ID)
		return nil
	case cmd == "check" && len(rest) == 3:
		before, err := load(rest[0])
		if err != nil {
			return err
		}
		after, err := load(path)
		if err != nil {
			return err
		}
		img, err := pixels.Load(rest[1])
		if err != nil {
			return err
		}
		said, err := check(rest[2], before, after, img)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", rest[2], rest[1], err)
		}
		fmt.Printf("   %s: %s\n", rest[2], said)
		return nil
	}
	return fmt.Errorf("usage: democheck wait|where|url|id|check STATE ...")
}

func load(path string) (*netclient.State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st netclient.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

// wait polls the state file until the step's condition holds.
func wait(path, step string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for {
		st, err := load(path)
		if err == nil {
			if why := at(step, st); why == "" {
				return nil
			} else {
				last = why
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the window did not reach %q within %v: %s", step, limit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// at says why st is not at step yet ("" when it is).
func at(step string, st *netclient.State) string {
	has := func(names ...string) string {
		for _, n := range names {
			if _, ok := st.Layout[n]; !ok {
				return "no place yet for " + n
			}
		}
		return ""
	}
	line := func(dir, text string) bool {
		for _, l := range st.Lines {
			if l.Dir == dir && l.Text == text {
				return true
			}
		}
		return false
	}
	c := st.Console
	switch step {
	case "start":
		if c.State != "disconnected" {
			return "the console is " + c.State
		}
		return has("badge", "connect", "line", "url", "fetch", "exchange")
	case "connected":
		if c.State != "connected" || !line("received", servers.Greeting) {
			return "the console is " + c.State + ", no greeting yet"
		}
	case "sent":
		if !line("sent", Line) || !line("received", Answer) {
			return "no " + Line + " and " + Answer + " in the exchange yet"
		}
	case "downloading":
		if len(st.Transfers) != 2 {
			return fmt.Sprintf("%d transfers", len(st.Transfers))
		}
		a, b := st.Transfers[0], st.Transfers[1]
		if a.State != "receiving" || !a.Known || a.Fraction < 0.1 {
			return fmt.Sprintf("the first transfer: %s, %.2f", a.State, a.Fraction)
		}
		if b.State != "receiving" || b.Known || b.Done == 0 {
			return fmt.Sprintf("the second transfer: %s, %d bytes", b.State, b.Done)
		}
		return has(bar(a), bar(b))
	case "cancelled":
		if len(st.Transfers) != 2 || st.Transfers[0].State != "cancelled" {
			return "the first transfer is not cancelled"
		}
		return has(bar(st.Transfers[0]))
	case "done":
		if len(st.Transfers) != 2 || st.Transfers[1].State != "done" {
			return "the second transfer is not done"
		}
		return has(bar(st.Transfers[1]))
	default:
		return "no step " + step
	}
	return ""
}

func bar(t netclient.TransferView) string { return "transfer." + strconv.Itoa(t.ID) + ".bar" }

// check says what the screenshot of step shows, or what is wrong with it.
func check(step string, before, after *netclient.State, img image.Image) (string, error) {
	if why := at(step, after); why != "" {
		return "", fmt.Errorf("the window is no longer at the step: %s", why)
	}
	colour := func(name string) color.NRGBA {
		c, err := pixels.Hex(after.Colors[name])
		if err != nil {
			panic(fmt.Sprintf("the state file has no colour %s: %v", name, err))
		}
		return c
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
		return "", fmt.Errorf("the screenshot is %dx%d: not the window", b.Dx(), b.Dy())
	}
	switch step {
	case "start", "connected":
		state := map[string]string{"start": "disconnected", "connected": "connected"}[step]
		n := pixels.Count(img, after.Layout["badge"], colour("badge."+state))
		if n < 100 {
			return "", fmt.Errorf("the badge has %d pixels of the %s colour, want 100 or more", n, state)
		}
		return fmt.Sprintf("the badge shows %s (%d pixels of its colour); status %q", state, n, after.Console.Status), nil
	case "sent":
		ex := after.Layout["exchange"]
		s, r := pixels.Count(img, ex, colour("sent")), pixels.Count(img, ex, colour("received"))
		st, rt := pixels.Count(img, ex, colour("sent-text")), pixels.Count(img, ex, colour("received-text"))
		if s < 1500 || r < 3000 || st < 50 || rt < 100 {
			return "", fmt.Errorf("the exchange shows %d pixels of the sent rows' colour, %d of the received (text %d, %d)", s, r, st, rt)
		}
		return fmt.Sprintf("the exchange shows the sent line on red (%d px) and the received on blue (%d px)", s, r), nil
	case "downloading":
		a0, a := before.Transfers[0], after.Transfers[0]
		fill := pixels.Filled(img, after.Layout[bar(a)], colour("bar"))
		if fill < a0.Fraction-0.05 || fill > a.Fraction+0.05 {
			return "", fmt.Errorf("the first bar is %.2f filled; the transfer was %.2f to %.2f through", fill, a0.Fraction, a.Fraction)
		}
		pulse := pixels.Filled(img, after.Layout[bar(after.Transfers[1])], colour("bar"))
		if pulse <= 0 || pulse > 0.6 {
			return "", fmt.Errorf("the second bar, whose size is not known, shows a block %.2f of its width", pulse)
		}
		return fmt.Sprintf("the first bar is %.2f filled (%s), the second pulses (a block %.2f wide; %s)",
			fill, a.Summary, pulse, after.Transfers[1].Summary), nil
	case "cancelled":
		a := after.Transfers[0]
		r := after.Layout[bar(a)]
		if f := pixels.Filled(img, r, colour("bar")); f > 0 {
			return "", fmt.Errorf("the cancelled bar is still %.2f in the running colour", f)
		}
		grey := pixels.Filled(img, r, colour("stopped"))
		if grey < a.Fraction-0.05 || grey > a.Fraction+0.05 {
			return "", fmt.Errorf("the cancelled bar is %.2f grey; it stopped at %.2f", grey, a.Fraction)
		}
		if !strings.HasPrefix(a.Summary, "cancelled after ") {
			return "", fmt.Errorf("the cancelled transfer says %q", a.Summary)
		}
		return fmt.Sprintf("the first bar stopped grey at %.2f: %q", grey, a.Summary), nil
	case "done":
		b := after.Transfers[1]
		if f := pixels.Filled(img, after.Layout[bar(b)], colour("done")); f < 0.95 {
			return "", fmt.Errorf("the finished bar is %.2f green", f)
		}
		got, err := os.ReadFile(b.Path)
		if err != nil {
			return "", fmt.Errorf("the saved file: %w", err)
		}
		want := make([]byte, len(got))
		servers.FillText(want, 0)
		if int64(len(got)) != b.Done || !bytes.Equal(got, want) {
			return "", fmt.Errorf("the saved file %s has %d bytes, not the %d the server sent", b.Path, len(got), b.Done)
		}
		entries, err := os.ReadDir(filepath.Dir(b.Path))
		if err != nil {
			return "", err
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return "", fmt.Errorf("the downloads folder holds %q: the cancelled transfer left a file", names)
		}
		return fmt.Sprintf("the second bar is full and green: %q; %s holds the %d bytes sent", b.Summary, b.Path, len(got)), nil
	}
	return "", fmt.Errorf("no step %s", step)
}
