package servers_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/apps/netclient/servers"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

func loop(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		r.CallFromGoroutine(r.Stop)
		<-done
		r.Close()
	})
	return r
}

// A session with the line server from a plain net.Conn, as telnet or nc
// would have it.
func TestLineServerCommands(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	var l *servers.Local
	var err error
	reactortest.OnLoop(t, r, func() { l, err = servers.Start(r) })
	if err != nil {
		t.Fatal(err)
	}
	defer reactortest.OnLoop(t, r, func() { l.Close() })

	for _, useTLS := range []bool{false, true} {
		var c net.Conn
		if useTLS {
			c, err = tls.Dial("tcp", l.LineTLS.Addr(), l.ClientConfig())
		} else {
			c, err = net.Dial("tcp", l.Line.Addr())
		}
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		in := bufio.NewReader(c)
		read := func() string {
			t.Helper()
			s, err := in.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (after %q)", err, s)
			}
			if !strings.HasSuffix(s, "\r\n") {
				t.Errorf("line %q does not end in CRLF", s)
			}
			return strings.TrimSuffix(s, "\r\n")
		}
		if g := read(); g != servers.Greeting {
			t.Errorf("greeting %q", g)
		}
		io.WriteString(c, "help\nECHO  two  spaces \r\nUPPER mixed Case\nREVERSE été\nCOUNT 3\nCOUNT x\nSTATS\nFROB\n\nTIME\n")
		for _, h := range servers.Help {
			if got := read(); got != h {
				t.Errorf("HELP line %q, want %q", got, h)
			}
		}
		for _, want := range []string{"two  spaces", "MIXED CASE", "été", "1", "2", "3",
			"ERR COUNT wants a number from 0 to 100000"} {
			if got := read(); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}
		if got := read(); !strings.HasSuffix(got, " connections served") {
			t.Errorf("STATS: %q", got)
		}
		if got := read(); got != `ERR unknown command "FROB": HELP lists the commands` {
			t.Errorf("unknown: %q", got)
		}
		if got := read(); func() error { _, err := time.Parse(time.RFC3339, got); return err }() != nil {
			t.Errorf("TIME: %q", got)
		}
		io.WriteString(c, "QUIT\n")
		if got := read(); got != "BYE" {
			t.Errorf("QUIT: %q", got)
		}
		if rest, err := io.ReadAll(in); err != nil || len(rest) != 0 {
			t.Errorf("after BYE: %q, %v", rest, err)
		}
		c.Close()
	}
}

func TestLineServerReset(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	var s *servers.LineServer
	var err error
	reactortest.OnLoop(t, r, func() { s, err = servers.ListenLine(r, "127.0.0.1:0", nil) })
	if err != nil {
		t.Fatal(err)
	}
	defer reactortest.OnLoop(t, r, func() { s.Close() })
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "RESET\n")
	_, err = io.ReadAll(c)
	if err == nil || !strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("after RESET: %v, want a reset", err)
	}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestHTTPServer(t *testing.T) {
	cert, err := servers.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := servers.ListenHTTP("127.0.0.1:0", cert.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := &http.Transport{TLSClientConfig: cert.ClientConfig(), DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	resp, b := get(t, c, s.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "/big.bin\n/stream.txt\n") {
		t.Errorf("index: %s %q", resp.Status, b)
	}

	start := time.Now()
	resp, b = get(t, c, s.TLSURL+"/big.bin?size=1M&rate=4M")
	took := time.Since(start)
	want := make([]byte, 1<<20)
	servers.Fill(want, 0)
	if resp.ContentLength != 1<<20 || !bytes.Equal(b, want) {
		t.Errorf("big.bin: length %d, %d bytes, equal %v", resp.ContentLength, len(b), bytes.Equal(b, want))
	}
	if took < 200*time.Millisecond { // 1 MiB at 4 MiB/s: a quarter of a second, less the first chunk
		t.Errorf("1 MiB at 4 MiB/s came in %v", took)
	}

	resp, b = get(t, c, s.URL+"/stream.txt?size=100k&rate=0")
	want = make([]byte, 100<<10)
	servers.FillText(want, 0)
	if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" || !bytes.Equal(b, want) {
		t.Errorf("stream.txt: length %d, encoding %v, %d bytes", resp.ContentLength, resp.TransferEncoding, len(b))
	}
	if first, _, _ := strings.Cut(string(b), "\n"); first != "line 00000001 opqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk" {
		t.Errorf("first line %q", first)
	}

	resp, b = get(t, c, s.URL+"/compressed.txt?size=100k&rate=0")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("compressed: headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(text, want) {
		t.Errorf("compressed: %d bytes decoded, %v", len(text), err)
	}

	resp, _ = get(t, c, s.URL+"/status/503")
	if resp.StatusCode != 503 {
		t.Errorf("status: %s", resp.Status)
	}
	resp, _ = get(t, c, s.URL+"/big.bin?size=lots")
	if resp.StatusCode != 400 {
		t.Errorf("bad size: %s", resp.Status)
	}
}

func TestFillAtAnyOffset(t *testing.T) {
	whole := make([]byte, 1000)
	servers.Fill(whole, 0)
	text := make([]byte, 1000)
	servers.FillText(text, 0)
	for _, off := range []int{0, 1, 7, 8, 13, 63, 64, 500} {
		for _, n := range []int{0, 1, 5, 8, 9, 100} {
			part := make([]byte, n)
			servers.Fill(part, int64(off))
			if !bytes.Equal(part, whole[off:off+n]) {
				t.Errorf("Fill at %d, %d bytes", off, n)
			}
			servers.FillText(part, int64(off))
			if !bytes.Equal(part, text[off:off+n]) {
				t.Errorf("FillText at %d, %d bytes", off, n)
			}
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "4k": 4096, "48M": 48 << 20, "2G": 2 << 30} {
		if got, err := servers.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "M", "1T", "1.5M"} {
		if _, err := servers.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) took it", in)
		}
	}
}
