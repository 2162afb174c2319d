package protocol_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
)

// Fetch a document with a progress bar: each progress event would set
// the bar (bar.SetValue(c.Fraction())); here the last one is printed
// with the status once the document is there. Everything runs on the
// reactor goroutine, so the observers may touch widgets.
func ExampleFetch() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1048576")
		w.Write(make([]byte, 1<<20))
	}))
	defer srv.Close()
	defer http.DefaultClient.CloseIdleConnections()

	r, err := reactor.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	p := protocol.Fetch(r, srv.URL+"/big.bin")
	var last deferred.Count
	deferred.On(p, deferred.Progress, func(c deferred.Count) { last = c })
	p.OnValue(func(d *protocol.Document) {
		fmt.Println(d.Status, len(d.Body), "bytes")
		fmt.Printf("progress: %d of %d, %.0f%%\n", last.Done, last.Total, 100*last.Fraction())
		r.Stop()
	})
	p.OnError(func(err error) { fmt.Println(err); r.Stop() })
	r.Run(context.Background())
	// Output:
	// 200 OK 1048576 bytes
	// progress: 1048576 of 1048576, 100%
}

// Get resolves with the response as soon as its headers arrive, whatever
// the status: a 404 is a response, whose body is then read.
func ExampleGet() {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	defer http.DefaultClient.CloseIdleConnections()

	r, err := reactor.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	p := protocol.Get(r, srv.URL+"/nowhere")
	p.OnValue(func(resp *protocol.Response) {
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
		body := resp.Bytes()
		body.OnValue(func(b []byte) { fmt.Printf("%q\n", b); r.Stop() })
		body.OnError(func(err error) { fmt.Println(err); r.Stop() })
	})
	p.OnError(func(err error) { fmt.Println(err); r.Stop() })
	r.Run(context.Background())
	// Output:
	// 404 text/plain; charset=utf-8
	// "404 page not found\n"
}
