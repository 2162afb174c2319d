package netclient_test

import (
	"bytes"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/servers"
	"github.com/loomkit/loom/reactor/reactortest"
)

func httpServer(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(servers.Handler())
	t.Cleanup(s.Close)
	return s.URL
}

// A file with a Content-Length: a determinate bar that moves, a rate and
// a time left while it runs, then the status, the headers and the file
// saved whole.
func TestFetchWithProgressSavesTheFile(t *testing.T) {
	reactortest.CheckLeaks(t)
	base := httpServer(t)
	r := loop(t)
	dir := t.TempDir()
	a := newApp(t, r, netclient.Config{Downloads: dir})
	var id int
	const size = 3 << 20
	reactortest.OnLoop(t, r, func() { id = a.Fetch(base+"/big.bin?size=3M&rate=4M", true) })
	mid := waitTransfer(t, a, id, "a quarter through", func(tv netclient.TransferView) bool {
		return tv.State == "receiving" && tv.Fraction > 0.25
	})
	if !mid.Known || mid.Total != size || mid.Rate == "—" || mid.Rate == "" || !strings.HasSuffix(mid.Left, "left") ||
		!strings.Contains(mid.Summary, " of 3.0 MiB · ") || !mid.CanCancel || mid.Status != "200 OK" {
		t.Errorf("while receiving: %+v", mid)
	}
	fractions := []float64{mid.Fraction}
	done := waitTransfer(t, a, id, "done", func(tv netclient.TransferView) bool {
		if tv.State == "receiving" {
			fractions = append(fractions, tv.Fraction)
		}
		return tv.State == "done"
	})
	for i := 1; i < len(fractions); i++ {
		if fractions[i] < fractions[i-1] {
			t.Errorf("the bar went back: %v", fractions)
			break
		}
	}
	if done.Fraction != 1 || done.Done != size || done.CanCancel || done.Path != filepath.Join(dir, "big.bin") ||
		!strings.HasPrefix(done.Summary, "200 OK · 3.0 MiB in ") || !strings.HasSuffix(done.Summary, " · saved") {
		t.Errorf("done: %+v", done)
	}
	v := view(t, a)
	if v.Selected != id || len(v.Details) < 4 || v.Details[1] != "HTTP/1.1 200 OK" ||
		!contains(v.Details, "Content-Length: 3145728") || !contains(v.Details, "Content-Type: application/octet-stream") ||
		v.Details[len(v.Details)-1] != "saved to "+done.Path {
		t.Errorf("details %q", v.Details)
	}
	got, err := os.ReadFile(done.Path)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	servers.Fill(want, 0)
	if !bytes.Equal(got, want) {
		t.Errorf("the saved file (%d bytes) is not what the server sent", len(got))
	}

	// The same name again: a second file beside the first.
	reactortest.OnLoop(t, r, func() { id = a.Fetch(base+"/big.bin?size=10k&rate=0", true) })
	again := waitTransfer(t, a, id, "done", func(tv netclient.TransferView) bool { return tv.State == "done" })
	if again.Path != filepath.Join(dir, "big (2).bin") {
		t.Errorf("second file saved as %q", again.Path)
	}
}

// A body with no length: the bar pulses (Known false) to the end, and
// the bytes still count.
func TestFetchWithoutALength(t *testing.T) {
	reactortest.CheckLeaks(t)
	base := httpServer(t)
	r := loop(t)
	a := newApp(t, r, netclient.Config{})
	var chunked, gzipped int
	reactortest.OnLoop(t, r, func() {
		chunked = a.Fetch(base+"/stream.txt?size=1M&rate=2M", true)
		gzipped = a.Fetch(base+"/compressed.txt?size=1M&rate=2M", false)
	})
	for _, id := range []int{chunked, gzipped} {
		mid := waitTransfer(t, a, id, "bytes moving", func(tv netclient.TransferView) bool {
			return tv.State == "receiving" && tv.Done > 0
		})
		if mid.Known || mid.Fraction != 0 || mid.Left != "" || strings.Contains(mid.Progress, " of ") {
			t.Errorf("transfer %d while receiving: %+v", id, mid)
		}
	}
	for _, id := range []int{chunked, gzipped} {
		done := waitTransfer(t, a, id, "done", func(tv netclient.TransferView) bool { return tv.State == "done" })
		if done.Done != 1<<20 {
			t.Errorf("transfer %d: %d bytes", id, done.Done)
		}
	}
	if tv := transfer(view(t, a), chunked); tv.Path == "" {
		t.Errorf("chunked: not saved: %+v", tv)
	} else {
		got, _ := os.ReadFile(tv.Path)
		want := make([]byte, 1<<20)
		servers.FillText(want, 0)
		if !bytes.Equal(got, want) {
			t.Errorf("the saved text (%d bytes) is not what the server sent", len(got))
		}
	}
	if tv := transfer(view(t, a), gzipped); tv.Path != "" || !strings.HasPrefix(tv.Summary, "200 OK · 1.0 MiB in ") || strings.Contains(tv.Summary, "saved") {
		t.Errorf("discarded: %+v", tv)
	}
	v := view(t, a)
	if !contains(v.Details, "read and discarded (not saved)") {
		t.Errorf("details of the discarded transfer: %q", v.Details)
	}
}

// Two transfers at once; one is cancelled halfway, the other goes on to
// the end. The cancelled one leaves no file.
func TestFetchCancelOneOfTwo(t *testing.T) {
	reactortest.CheckLeaks(t)
	base := httpServer(t)
	r := loop(t)
	dir := t.TempDir()
	a := newApp(t, r, netclient.Config{Downloads: dir})
	var one, two int
	reactortest.OnLoop(t, r, func() {
		one = a.Fetch(base+"/big.bin?size=8M&rate=4M", true)
		two = a.Fetch(base+"/stream.txt?size=1M&rate=1M", true)
	})
	waitTransfer(t, a, one, "under way", func(tv netclient.TransferView) bool { return tv.Fraction > 0.05 })
	if v := view(t, a); v.Running != 2 {
		t.Errorf("%d running", v.Running)
	}
	reactortest.OnLoop(t, r, func() { a.Cancel(one) })
	c := transfer(view(t, a), one)
	if c.State != "cancelled" || c.CanCancel || !strings.HasPrefix(c.Summary, "cancelled after ") || !strings.HasSuffix(c.Summary, " of 8.0 MiB") || c.Path != "" {
		t.Errorf("cancelled: %+v", c)
	}
	if tv := transfer(view(t, a), two); tv.State != "receiving" {
		t.Errorf("the other transfer: %+v", tv)
	}
	done := waitTransfer(t, a, two, "the other done", func(tv netclient.TransferView) bool { return !tv.Active })
	if done.State != "done" || done.Done != 1<<20 {
		t.Errorf("the other transfer: %+v", done)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "stream.txt" {
		t.Errorf("downloads folder holds %q", names)
	}
	reactortest.OnLoop(t, r, a.ClearFinished)
	if v := view(t, a); len(v.Transfers) != 0 || v.Selected != 0 {
		t.Errorf("after ClearFinished: %+v", v.Transfers)
	}
}

// Cancelled before the headers come.
func TestFetchCancelWhileWaiting(t *testing.T) {
	reactortest.CheckLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c
		}
	}()
	r := loop(t)
	a := newApp(t, r, netclient.Config{})
	var id int
	reactortest.OnLoop(t, r, func() { id = a.Fetch("http://"+l.Addr().String()+"/silent", true) })
	c := <-accepted
	defer c.Close()
	if tv := transfer(view(t, a), id); tv.State != "requesting" || tv.Summary != "waiting for the response…" || !tv.CanCancel {
		t.Errorf("waiting: %+v", tv)
	}
	reactortest.OnLoop(t, r, func() { a.Cancel(id) })
	if tv := transfer(view(t, a), id); tv.State != "cancelled" || tv.Summary != "cancelled" {
		t.Errorf("cancelled: %+v", tv)
	}
}

// A status is a response like any other; no response is a failure in
// words.
func TestFetchStatusAndFailure(t *testing.T) {
	reactortest.CheckLeaks(t)
	base := httpServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/"
	l.Close()
	r := loop(t)
	a := newApp(t, r, netclient.Config{})
	var notFound, refused int
	reactortest.OnLoop(t, r, func() {
		notFound = a.Fetch(base+"/status/404", true)
		refused = a.Fetch(closed, true)
	})
	nf := waitTransfer(t, a, notFound, "404 done", func(tv netclient.TransferView) bool { return !tv.Active })
	if nf.State != "done" || nf.Status != "404 Not Found" || !strings.HasPrefix(nf.Summary, "404 Not Found · 10 B in ") || filepath.Base(nf.Path) != "status-404.txt" {
		t.Errorf("404: %+v", nf)
	}
	rf := waitTransfer(t, a, refused, "refused", func(tv netclient.TransferView) bool { return !tv.Active })
	if rf.State != "failed" || rf.Summary != "failed: refused: nothing is listening there" || rf.Path != "" {
		t.Errorf("refused: %+v", rf)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
