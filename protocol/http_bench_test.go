package protocol_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// htDiscard is a protocol that drops what it is given.
type htDiscard struct{ n int64 }

func (d *htDiscard) ConnectionMade(transport.Transport) {}
func (d *htDiscard) DataReceived(b []byte)              { d.n += int64(len(b)) }
func (d *htDiscard) ConnectionLost(error)               {}

// BenchmarkHTTPDownload downloads 256 MiB over loopback: with net/http
// alone on the calling goroutine (io.Copy to io.Discard, and io.ReadAll),
// and through the client: the body streamed to a protocol on the loop
// goroutine that drops it (to compare with io.Copy), and read in full
// with Bytes (to compare with io.ReadAll).
func BenchmarkHTTPDownload(b *testing.B) {
	const size = 256 << 20
	chunk := make([]byte, 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for range size / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	b.Run("net-http", func(b *testing.B) {
		hc := srv.Client()
		b.SetBytes(size)
		for b.Loop() {
			resp, err := hc.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size {
				b.Fatalf("%d bytes, %v", n, err)
			}
		}
	})

	b.Run("net-http-readall", func(b *testing.B) {
		hc := srv.Client()
		b.SetBytes(size)
		for b.Loop() {
			resp, err := hc.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(body) != size {
				b.Fatalf("%d bytes, %v", len(body), err)
			}
		}
	})

	loom := func(b *testing.B, read func(r *reactor.Reactor, resp *protocol.Response, done func(int64, error))) {
		r, err := reactor.New(reactor.WithoutSignalHandlers())
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		c := &protocol.Client{HTTP: srv.Client(), MaxBodySize: -1}
		b.SetBytes(size)
		for b.Loop() {
			var n int64
			var ferr error
			r.CallSoon(func() {
				p := c.Get(r, srv.URL)
				p.OnError(func(err error) { ferr = err; r.Stop() })
				p.OnValue(func(resp *protocol.Response) {
					read(r, resp, func(v int64, err error) { n, ferr = v, err; r.Stop() })
				})
			})
			if err := r.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			if ferr != nil || n != size {
				b.Fatalf("%d bytes, %v", n, ferr)
			}
		}
	}
	b.Run("loom-stream", func(b *testing.B) {
		loom(b, func(r *reactor.Reactor, resp *protocol.Response, done func(int64, error)) {
			p := resp.Stream(&htDiscard{})
			p.OnValue(func(n int64) { done(n, nil) })
			p.OnError(func(err error) { done(0, err) })
		})
	})
	b.Run("loom-bytes", func(b *testing.B) {
		loom(b, func(r *reactor.Reactor, resp *protocol.Response, done func(int64, error)) {
			p := resp.Bytes()
			p.OnValue(func(b []byte) { done(int64(len(b)), nil) })
			p.OnError(func(err error) { done(0, err) })
		})
	})
}
