package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// Defaults of a Client whose fields are zero.
const (
	// DefaultMaxBodySize bounds what Bytes and Fetch read into memory.
	DefaultMaxBodySize = 64 << 20
	// DefaultProgressInterval is the shortest time between two progress
	// events of one transfer: about 30 a second.
	DefaultProgressInterval = time.Second / 30
	// BodyWindow is the most a streamed body holds in flight: bytes read
	// from the network that the consumer has not yet been handed, or is
	// being handed.
	BodyWindow = 64 << 10
)

// Errors that errors.Is finds in what the HTTP client's promises are
// rejected with.
var (
	// ErrBodyTaken: Bytes, Stream or SaveTo was called on a response
	// whose body was already taken (or discarded).
	ErrBodyTaken = errors.New("protocol: the response body was already taken")
	// ErrBodyTooLarge: a body is longer than Client.MaxBodySize.
	ErrBodyTooLarge = errors.New("protocol: response body too large")
)

// Client fetches URLs with net/http and delivers the results on the
// reactor goroutine. net/http does the HTTP: connections, keep-alive,
// HTTP/2, proxies from the environment, redirects, cookies, TLS (with
// certificate verification on unless the http.Client says otherwise).
// The Client bridges it to the loop:
//
//   - Do and Get return a promise that resolves when the response's
//     headers arrive, with a Response: any status is a response, a 404
//     included; the promise is rejected only when no response came (a
//     refused connection, a certificate that does not verify, a
//     redirect loop). Redirects are followed as the http.Client's
//     CheckRedirect says (by default up to 10).
//   - The body is then read in full (Response.Bytes), streamed to a
//     transport.Protocol with back-pressure (Response.Stream), or saved
//     to a file (Response.SaveTo), each a promise of its own. Fetch does
//     Get and Bytes in one promise.
//   - Those promises emit progress events (Download, and the plain
//     deferred.Progress count), throttled to one per ProgressInterval
//     with a final one always sent before the promise resolves; Do's,
//     Get's and Fetch's promises emit the phases of the exchange
//     (Phases: DNS, connect, TLS, request written, first byte) and the
//     progress of the request's body (Upload).
//   - Cancel, on any of the promises, stops the transfer at once: the
//     request's context is cancelled and the body closed, so the server
//     sees the connection end, and the goroutines that were moving the
//     bytes return. Closing the reactor cancels every transfer still
//     running (their promises are rejected with an error that matches
//     both deferred.ErrCancelled and reactor.ErrClosed).
//
// Every callback, observer and event runs on the reactor goroutine (the
// GUI thread when a GUI loop drives the reactor); net/http's blocking
// calls run on goroutines of their own, one per request and one per body
// being read, which hand what they get to the loop with
// CallFromGoroutine.
//
// The zero Client uses http.DefaultClient and the defaults above. A
// Client's fields must not change while it is in use; its methods are
// for the reactor goroutine.
type Client struct {
	// HTTP makes the requests: its Transport (TLS configuration,
	// proxies, connection pool), CheckRedirect, Jar and Timeout apply as
	// they are. nil means http.DefaultClient.
	HTTP *http.Client
	// MaxBodySize is the most Bytes and Fetch read into memory: a body
	// that announces more fails at once, one that turns out longer fails
	// when it passes the bound, both with an error wrapping
	// ErrBodyTooLarge. 0 means DefaultMaxBodySize; a negative value, no
	// bound. Stream and SaveTo are not bounded.
	MaxBodySize int64
	// ProgressInterval is the shortest time between two progress events
	// of one transfer. 0 means DefaultProgressInterval.
	ProgressInterval time.Duration
}

var defaultClient Client

// Get fetches url with the zero Client: see Client.Get.
func Get(r *reactor.Reactor, url string) *deferred.Promise[*Response] {
	return defaultClient.Get(r, url)
}

// Do sends req with the zero Client: see Client.Do.
func Do(r *reactor.Reactor, req *http.Request) *deferred.Promise[*Response] {
	return defaultClient.Do(r, req)
}

// Fetch fetches the document at url with the zero Client: see
// Client.Fetch.
func Fetch(r *reactor.Reactor, url string) *deferred.Promise[*Document] {
	return defaultClient.Fetch(r, url)
}

// Get sends a GET request for url: see Do. A url that does not parse
// gives a promise already rejected.
func (c *Client) Get(r *reactor.Reactor, url string) *deferred.Promise[*Response] {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return deferred.Rejected[*Response](fmt.Errorf("protocol: %w", err))
	}
	return c.Do(r, req)
}

// Do sends req on a goroutine and returns a promise that resolves on the
// reactor goroutine when the response's headers have arrived, whatever
// its status, with a Response whose body is still to be read (see
// Response). It is rejected with net/http's error (a *url.Error) when
// no response came.
//
// Until it settles the promise emits Phases, as net/http/httptrace
// reports them, and Upload, the progress of req.Body (sent again from 0
// if net/http sends it again, after a 307 redirect or on a fresh
// connection). Cancelling it before it settles cancels the request: its
// context is cancelled (req's own context, if it ends, does the same)
// and the connection, if one was made, is closed; once the response is
// there, the promise of the body's reader (Bytes, Stream, SaveTo) is the
// one to cancel. On a nil or closed reactor, or
// with a nil req, the promise is already rejected, with an error
// wrapping deferred.ErrNil or reactor.ErrClosed. Do must be called on
// the reactor goroutine.
func (c *Client) Do(r *reactor.Reactor, req *http.Request) *deferred.Promise[*Response] {
	p, res := deferred.NewPromise[*Response]()
	x, err := c.start(r, req, events{
		phase:  func(ph PhaseReport) { deferred.Emit(res, Phases, ph) },
		upload: func(t Transfer) { deferred.Emit(res, Upload, t) },
	}, func(resp *Response) { res.Resolve(resp) }, func(err error) { res.Reject(err) })
	if err != nil {
		res.Reject(err)
		return p
	}
	res.OnCancel(x.cancelHeaders)
	return p
}

// Fetch fetches the document at url: Get and Response.Bytes in one
// promise, which resolves once the whole body has arrived, with the
// response and its bytes, whatever the status. It emits what both
// emit: Phases and Upload while the request is under way, then Download
// and deferred.Progress as the body arrives, so a progress bar reads
//
//	p := protocol.Fetch(r, "https://example.org/file")
//	deferred.On(p, deferred.Progress, func(c deferred.Count) { bar.SetValue(c.Fraction()) })
//	p.OnValue(func(d *protocol.Document) { show(d.StatusCode, d.Body) })
//	cancelButton.OnTapped = p.Cancel
//
// Cancelling it stops the transfer wherever it is. Fetch must be called
// on the reactor goroutine.
func (c *Client) Fetch(r *reactor.Reactor, url string) *deferred.Promise[*Document] {
	p, res := deferred.NewPromise[*Document]()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		res.Reject(fmt.Errorf("protocol: %w", err))
		return p
	}
	var cancelBody func()
	download := emitDownload(res)
	x, err := c.start(r, req, events{
		phase:  func(ph PhaseReport) { deferred.Emit(res, Phases, ph) },
		upload: func(t Transfer) { deferred.Emit(res, Upload, t) },
	}, func(resp *Response) {
		cancelBody = resp.readAll(download, func(b []byte, err error) {
			if err != nil {
				res.Reject(err)
				return
			}
			resp.Response.Body = http.NoBody
			res.Resolve(&Document{Response: resp.Response, Body: b})
		})
	}, func(err error) { res.Reject(err) })
	if err != nil {
		res.Reject(err)
		return p
	}
	res.OnCancel(func() {
		if cancelBody != nil {
			cancelBody()
		} else {
			x.cancelHeaders()
		}
	})
	return p
}

// Document is a response read in full, what Fetch gives: the status,
// headers and the rest of the *http.Response (whose own Body is spent),
// and Body, the bytes.
type Document struct {
	*http.Response
	// Body is the response body, decompressed if net/http decompressed
	// it.
	Body []byte
}

// Response is a response whose headers have arrived: the *http.Response
// for its status, headers, TLS state and the request that led to it
// (after redirects), and methods that read its body on a goroutine and
// deliver it on the loop. Take the body once, with Bytes, Stream or
// SaveTo, or let it go with Discard: until then the connection stays
// open (closing the reactor closes it). The embedded Body is not for
// reading: its Read fails, and its Close is Discard.
//
// Response's methods are for the reactor goroutine.
type Response struct {
	*http.Response
	x *exchange
}

// Discard closes the body without reading it, if it was not taken: the
// connection is closed (not kept alive), and nothing is left running.
// Discard after the body was taken does nothing.
func (resp *Response) Discard() {
	x := resp.x
	if x.stage != stageResponse {
		return
	}
	x.stage = stageDone
	x.finish(false)
}

// take hands the body to one of the ways of reading it.
func (resp *Response) take() (io.ReadCloser, error) {
	x := resp.x
	if x.stage != stageResponse {
		if x.stage == stageDone && x.closedLoop {
			return nil, fmt.Errorf("protocol: %s %s: %w", x.method, x.url, reactor.ErrClosed)
		}
		return nil, fmt.Errorf("%w (%s %s)", ErrBodyTaken, x.method, x.url)
	}
	x.stage = stageBody
	x.abort = nil
	return x.body, nil
}

// Stages of an exchange.
const (
	stageHeaders  = iota // the request is under way
	stageResponse        // the headers arrived, the body is not taken
	stageBody            // a reader has the body
	stageDone            // all done, or cancelled, or the reactor closed
)

// events says where the events of an exchange go: the promise the user
// holds. A nil function drops them.
type events struct {
	phase  func(PhaseReport)
	upload func(Transfer)
}

// exchange is one request and its response, from Do to the end of the
// body.
type exchange struct {
	r        *reactor.Reactor
	hc       *http.Client
	maxBody  int64
	interval time.Duration
	method   string
	url      string
	ctx      context.Context
	cancel   context.CancelFunc
	start    time.Time
	ev       events

	// Loop goroutine.
	stage      int
	unhook     func()
	abort      func(err error) // what Close does to the promise of the stage
	body       io.ReadCloser   // the response body, closed by finish
	upload     *meter
	closedLoop bool
	arrivedFn  func()

	// Shared with the goroutines.
	mu      sync.Mutex
	dead    bool           // cancelled: a response that comes is closed
	pending *http.Response // delivered, not yet taken by the loop
	local   net.Addr
	remote  net.Addr
}

// start begins the exchange of req, calling got or failed on the loop
// when the headers arrive or the request fails.
func (c *Client) start(r *reactor.Reactor, req *http.Request, ev events, got func(*Response), failed func(error)) (*exchange, error) {
	if r == nil {
		return nil, fmt.Errorf("protocol: HTTP request given a nil reactor: %w", deferred.ErrNil)
	}
	if req == nil {
		return nil, fmt.Errorf("protocol: HTTP request given a nil *http.Request: %w", deferred.ErrNil)
	}
	if r.Closed() {
		return nil, fmt.Errorf("protocol: %s %s: %w", req.Method, req.URL, reactor.ErrClosed)
	}
	if c == nil {
		c = &defaultClient
	}
	x := &exchange{
		r:        r,
		hc:       c.HTTP,
		maxBody:  c.MaxBodySize,
		interval: c.ProgressInterval,
		method:   req.Method,
		ev:       ev,
		start:    time.Now(),
	}
	if x.method == "" {
		x.method = http.MethodGet
	}
	if req.URL != nil {
		x.url = req.URL.Redacted()
	}
	if x.hc == nil {
		x.hc = http.DefaultClient
	}
	if x.maxBody == 0 {
		x.maxBody = DefaultMaxBodySize
	}
	if x.interval <= 0 {
		x.interval = DefaultProgressInterval
	}
	x.ctx, x.cancel = context.WithCancel(req.Context())
	req = req.WithContext(x.trace(x.ctx))
	x.wrapBody(req)
	x.unhook = r.OnClose(x.closed)
	x.abort = failed
	x.arrivedFn = func() { x.arrived(got) }
	go x.roundTrip(req, failed)
	return x, nil
}

// roundTrip runs on its own goroutine: it sends the request and hands
// the response, or the error, to the loop.
func (x *exchange) roundTrip(req *http.Request, failed func(error)) {
	resp, err := x.hc.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		x.r.CallFromGoroutine(func() {
			if x.stage == stageHeaders {
				x.stage = stageDone
				x.finish(false)
				failed(err)
			}
		})
		return
	}
	x.mu.Lock()
	if x.dead {
		x.mu.Unlock()
		resp.Body.Close()
		return
	}
	x.pending = resp
	x.mu.Unlock()
	// If the reactor is closed before this call runs, its hook finds the
	// response pending and closes it.
	x.r.CallFromGoroutine(x.arrivedFn)
}

// arrived takes the response the round trip left. Loop goroutine.
func (x *exchange) arrived(got func(*Response)) {
	x.mu.Lock()
	hr := x.pending
	x.pending = nil
	x.mu.Unlock()
	if hr == nil || x.stage != stageHeaders {
		return // cancelled meanwhile: the body was closed
	}
	x.stage = stageResponse
	x.abort = nil
	if x.upload != nil {
		x.upload.finish(x.upload.n.Load())
	}
	x.body = hr.Body
	resp := &Response{Response: hr, x: x}
	hr.Body = guardBody{resp}
	got(resp)
}

// cancelHeaders is the canceller of the promise for the headers. Loop
// goroutine.
func (x *exchange) cancelHeaders() {
	if x.stage != stageHeaders {
		return
	}
	x.stage = stageDone
	x.abort = nil
	x.finish(false)
}

// closed is the exchange's OnClose hook: the reactor is closing, so the
// transfer ends and its promise is rejected. Loop goroutine (the one
// calling Close).
func (x *exchange) closed() {
	x.unhook = nil
	x.closedLoop = true
	abort := x.abort
	x.abort = nil
	x.stage = stageDone
	x.finish(false)
	if abort != nil {
		abort(errReactorClosed{method: x.method, url: x.url})
	}
}

// kill stops the transfer: the context is cancelled and the response
// closed, which closes the connection. A cancelled context alone may
// leave a read of an HTTP/1 body blocked (and a custom RoundTripper may
// ignore it); closing the body unblocks it. Close can wait on net/http's
// own goroutines (an HTTP/2 stream's reset is written under the
// connection's lock), so it runs off the loop; it returns soon. Loop
// goroutine.
func (x *exchange) kill() {
	x.mu.Lock()
	x.dead = true
	hr := x.pending
	x.pending = nil
	x.mu.Unlock()
	x.cancel()
	if hr != nil {
		go hr.Body.Close()
	}
	if b := x.body; b != nil {
		x.body = nil
		go b.Close()
	}
}

// finish ends the exchange: unless it ended clean (the body was read to
// its end, and closed by its reader), the transfer is killed; the Close
// hook is removed and the upload meter stopped. Loop goroutine.
func (x *exchange) finish(clean bool) {
	if !clean {
		x.kill()
	}
	x.mu.Lock()
	x.dead = true
	x.mu.Unlock()
	x.body = nil
	x.cancel()
	if x.unhook != nil {
		x.unhook()
		x.unhook = nil
	}
	if x.upload != nil {
		x.upload.stop()
	}
}

// addrs returns the connection's addresses, as httptrace reported them.
func (x *exchange) addrs() (local, remote net.Addr) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.local, x.remote
}

// guardBody stands in the *http.Response for the body, which the
// Response's methods read.
type guardBody struct{ resp *Response }

func (g guardBody) Read([]byte) (int, error) {
	return 0, errors.New("protocol: read the body with Response.Bytes, Stream or SaveTo")
}

func (g guardBody) Close() error {
	g.resp.Discard()
	return nil
}

// errReactorClosed is the error of a transfer that the reactor's Close
// ended.
type errReactorClosed struct{ method, url string }

func (e errReactorClosed) Error() string {
	return fmt.Sprintf("protocol: %s %s: cancelled: the reactor closed", e.method, e.url)
}

func (e errReactorClosed) Is(target error) bool {
	return target == deferred.ErrCancelled || target == reactor.ErrClosed
}
