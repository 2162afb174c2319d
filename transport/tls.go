package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// CloseNotifyTimeout bounds how long LoseConnection on a TLS transport
// waits, once everything is written and its own close_notify sent, for
// the peer's close_notify (or its end of file) before it closes the
// connection anyway. Waiting lets the peer read to the end; the bound
// keeps a peer that never answers from holding the connection open
// (Twisted #7926). ConnectionLost gets nil either way.
const CloseNotifyTimeout = 5 * time.Second

// DialTLS connects to the TCP address addr ("host:port") as DialTCP
// does, runs the TLS client handshake with cfg, and then starts p on the
// connection: ConnectionMade, then reads. The promise resolves with the
// transport after ConnectionMade, or is rejected with an *OpError whose
// Op is "dial"; a certificate that does not verify rejects it with the
// error crypto/tls gives, which errors.As finds (a
// *tls.CertificateVerificationError holding an x509.UnknownAuthorityError,
// x509.HostnameError, ...).
//
// A nil cfg is the zero tls.Config; as in tls.Dial, an empty ServerName
// is taken from addr's host. Certificates are verified unless cfg says
// InsecureSkipVerify. WithTimeout bounds the whole dial, handshake
// included; cancelling the promise closes the socket, connecting or
// handshaking, and rejects it with ErrCancelled; p hears nothing. The
// handshake runs on a goroutine, which ends with it.
//
// The transport is FromNetConn's over the *tls.Conn: see there, and
// TLSConnectionState for what the handshake agreed.
func DialTLS(r *reactor.Reactor, addr string, cfg *tls.Config, p Protocol, opts ...Option) *deferred.Promise[Transport] {
	opErr := func(a net.Addr, err error) error { return &OpError{Op: "dial", Net: "tcp", Addr: a, Err: err} }
	switch {
	case r == nil || p == nil:
		return deferred.Rejected[Transport](opErr(nil, fmt.Errorf("nil reactor or protocol: %w", deferred.ErrNil)))
	case r.Closed():
		return deferred.Rejected[Transport](opErr(nil, ErrClosed))
	}
	cfg = clientConfig(cfg, addr)
	promise, res := deferred.NewPromise[Transport]()
	d := &tlsDial{r: r, p: p, cfg: newConfig(opts), tls: cfg, res: res, opErr: opErr, start: r.Now()}
	res.OnCancel(d.cancel)
	d.tcp = Dial(r, "tcp", addr, &tlsStart{d.connected}, opts...)
	d.tcp.OnError(func(err error) { d.finish(nil, err) })
	return promise
}

// clientConfig returns cfg, or a copy with ServerName set from addr's
// host when it is empty.
func clientConfig(cfg *tls.Config, addr string) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	return cfg
}

type tlsDial struct {
	r     *reactor.Reactor
	p     Protocol
	cfg   config
	tls   *tls.Config
	res   deferred.Resolver[Transport]
	opErr func(net.Addr, error) error
	start time.Time
	tcp   *deferred.Promise[Transport] // the TCP dial
	hs    *handshake                   // then the handshake
	done  bool
}

// connected runs in the TCP transport's ConnectionMade: the socket moves
// to a tls.Conn and the handshake starts, with what is left of the
// timeout.
func (d *tlsDial) connected(c *conn) {
	raddr := c.raddr
	raw, err := c.detach()
	if err != nil {
		d.finish(nil, d.opErr(raddr, err))
		return
	}
	timeout := d.cfg.timeout
	if timeout > 0 {
		timeout = max(timeout-d.r.Now().Sub(d.start), time.Nanosecond)
	}
	tc := tls.Client(raw, d.tls)
	d.hs = startHandshake(d.r, tc, timeout, func(err error) {
		if err != nil {
			d.finish(nil, d.opErr(raddr, connErr(err)))
			return
		}
		settled := false
		defer func() {
			if !settled { // ConnectionMade panicked; the connection is closed
				d.finish(nil, d.opErr(raddr, errMadePanicked))
			}
		}()
		nc := newNetConn(d.r, tc, d.p, d.cfg.high, d.cfg.low, d.cfg.cap, false, true, d.cfg.closeNotify)
		settled = true
		d.finish(nc, nil)
	})
}

func (d *tlsDial) cancel() {
	switch {
	case d.done:
	case d.hs != nil:
		d.hs.stop(ErrCancelled) // rejects through the handshake's end
	default:
		d.tcp.Cancel() // rejects through the TCP dial's error
	}
}

func (d *tlsDial) finish(t Transport, err error) {
	if d.done {
		return
	}
	d.done = true
	if err != nil {
		d.res.Reject(err)
		return
	}
	d.res.Resolve(t)
}

// ListenTLS listens on the TCP address addr as ListenTCP does and runs
// the TLS server handshake with cfg on each connection; once it is done,
// factory makes the connection's protocol, which starts as on any
// transport: ConnectionMade, then reads. cfg must have a certificate
// (Certificates, GetCertificate or GetConfigForClient).
//
// A connection whose handshake fails, or does not finish within
// WithTimeout's bound (30 s by default), is closed and logged at debug
// level (WithLogger); its factory is never called. The handshakes run on
// goroutines, one for each, which end with them. The Listener's Accepted
// and Refused count TCP connections; Close stops accepting and leaves
// handshakes under way to finish, as it leaves connections open.
func ListenTLS(r *reactor.Reactor, addr string, cfg *tls.Config, factory Factory, opts ...Option) (*Listener, error) {
	if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil) {
		return nil, &OpError{Op: "listen", Net: "tcp", Err: errors.New("tls.Config has no certificate (Certificates, GetCertificate or GetConfigForClient)")}
	}
	if factory == nil {
		return nil, &OpError{Op: "listen", Net: "tcp", Err: fmt.Errorf("nil factory")}
	}
	c := newConfig(opts)
	return Listen(r, "tcp", addr, func(net.Addr) Protocol {
		return &tlsStart{func(t *conn) { acceptTLS(t, cfg, factory, &c) }}
	}, opts...)
}

// acceptTLS moves an accepted socket to a tls.Conn and runs the server
// handshake.
func acceptTLS(c *conn, cfg *tls.Config, factory Factory, lc *config) {
	r, raddr := c.r, c.raddr
	raw, err := c.detach()
	if err != nil {
		lc.logger.Debug("transport: TLS connection lost", slog.Any("remote", raddr), slog.Any("error", err))
		return
	}
	tc := tls.Server(raw, cfg)
	startHandshake(r, tc, lc.timeout, func(err error) {
		if err != nil {
			lc.logger.Debug("transport: TLS handshake failed", slog.Any("remote", raddr), slog.Any("error", err))
			return
		}
		var p Protocol
		defer func() {
			if p == nil {
				raw.Close() // refused, or the factory panicked
			}
		}()
		if p = factory(raddr); p == nil {
			return
		}
		newNetConn(r, tc, p, lc.high, lc.low, lc.cap, false, true, lc.closeNotify)
	})
}

// tlsStart is the protocol of a TCP connection that becomes a TLS one as
// soon as it is made: it hears only ConnectionMade, in which the socket
// leaves the TCP transport.
type tlsStart struct{ made func(*conn) }

func (s *tlsStart) ConnectionMade(t Transport) { s.made(t.(*conn)) }
func (s *tlsStart) DataReceived([]byte)        {}
func (s *tlsStart) ConnectionLost(error)       {}

// handshake runs a tls.Conn's handshake on a goroutine, bounded by a
// timeout and by the reactor's Close, and calls done on the reactor
// goroutine with its outcome, once; on an error the connection is
// closed.
type handshake struct {
	r      *reactor.Reactor
	tc     *tls.Conn
	done   func(err error)
	ended  bool
	timer  *reactor.DelayedCall
	unhook func()
	wg     sync.WaitGroup
}

func startHandshake(r *reactor.Reactor, tc *tls.Conn, timeout time.Duration, done func(error)) *handshake {
	h := &handshake{r: r, tc: tc, done: done}
	h.unhook = r.OnClose(func() {
		h.unhook = func() {}
		h.stop(ErrClosed)
		h.wg.Wait()
	})
	if timeout > 0 {
		h.timer = r.CallLater(timeout, func() {
			h.timer = nil
			h.stop(&classified{ErrTimeout, syscall.ETIMEDOUT})
		})
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		err := tc.Handshake()
		r.CallFromGoroutine(func() { h.end(err) })
	}()
	return h
}

// stop ends the handshake with err, closing the connection; the
// goroutine returns as soon as its reads and writes fail.
func (h *handshake) stop(err error) {
	if !h.ended {
		h.tc.NetConn().Close()
		h.end(err)
	}
}

func (h *handshake) end(err error) {
	if h.ended {
		return
	}
	h.ended = true
	h.unhook()
	if h.timer != nil {
		h.timer.Cancel()
		h.timer = nil
	}
	if err != nil {
		h.tc.NetConn().Close()
	}
	h.done(err)
}

// StartTLS upgrades t, a TCP or Unix transport of this package that
// began in plaintext, to TLS with cfg, as the client or the server of
// the handshake (STARTTLS in SMTP, IMAP, XMPP). t stops reading at once,
// so the peer's first TLS bytes are not taken as plaintext, and refuses
// writes; what it has buffered is flushed; then its socket leaves the
// reactor for a tls.Conn and the handshake runs. The promise resolves
// with the new transport, which t's protocol goes on with: it hears
// DataReceived and, in the end, ConnectionLost from the new transport,
// and neither ConnectionMade again nor ConnectionLost for the switch. t
// is dead from then on (its State says Closed).
//
// If the connection ends first, or the handshake fails (or takes longer
// than WithTimeout's bound, 30 s by default), the promise is rejected
// with an *OpError whose Op is "handshake", and the protocol hears
// ConnectionLost with it (or with t's own error, if t closed before the
// switch). Cancelling the promise closes the connection the same way,
// with ErrCancelled. The new transport keeps t's write limits and read
// pause; other options than WithTimeout are ignored. For a client, an
// empty ServerName in cfg is taken from t's remote IP address.
//
// t must be open (not closing or half-closed), and StartTLS called on
// the reactor goroutine; otherwise the promise is rejected and t left as
// it was.
func StartTLS(t Transport, cfg *tls.Config, client bool, opts ...Option) *deferred.Promise[Transport] {
	c, ok := t.(*conn)
	if !ok {
		return deferred.Rejected[Transport](&OpError{Op: "handshake", Err: fmt.Errorf("StartTLS needs a TCP or Unix transport of this package, not %T: %w", t, errors.ErrUnsupported)})
	}
	opErr := func(err error) error { return &OpError{Op: "handshake", Net: c.netw, Addr: c.raddr, Err: err} }
	switch {
	case cfg == nil:
		return deferred.Rejected[Transport](opErr(fmt.Errorf("nil tls.Config")))
	case c.state&(Closing|Closed|ReadClosed|WriteClosed) != 0:
		return deferred.Rejected[Transport](opErr(fmt.Errorf("%w: the connection is %v", ErrClosed, c.state)))
	case c.r.Closed():
		return deferred.Rejected[Transport](opErr(ErrClosed))
	}
	if client && cfg.ServerName == "" {
		if a, ok := c.raddr.(*net.TCPAddr); ok {
			cfg = cfg.Clone()
			cfg.ServerName = a.IP.String()
		}
	}
	promise, res := deferred.NewPromise[Transport]()
	sc := newConfig(opts)
	s := &startTLS{c: c, proto: c.proto, cfg: cfg, client: client, timeout: sc.timeout, notify: sc.closeNotify, res: res, opErr: opErr}
	res.OnCancel(s.cancel)
	// Neither read nor write in plaintext from here on; the flags keep
	// ResumeReading from reading again and the flush from shutting the
	// write side down.
	c.stopReading()
	c.state |= ReadClosed | WriteClosed
	c.shutWrite = true
	c.proto = &startTLSProto{s}
	if c.Buffered() == 0 {
		s.detach()
		return promise
	}
	c.writable = func() {
		c.onWritable()
		s.flushed()
	}
	if c.writing {
		c.r.RemoveWriter(c.fd)
		if err := c.r.AddWriter(c.fd, c.writable); err != nil {
			c.writing = false
			c.fail("write", err)
		}
	}
	return promise
}

// TLSConnectionState returns what the TLS handshake of t agreed: the
// version, the cipher suite, the peer's certificates, the negotiated
// protocol (ALPN). ok is false if t is not a TLS transport or its
// handshake is not done yet.
func TLSConnectionState(t Transport) (state tls.ConnectionState, ok bool) {
	nc, isNC := t.(*netConn)
	if !isNC || nc.tc == nil || !nc.tlsDone {
		return tls.ConnectionState{}, false
	}
	return nc.tlsState, true
}

type startTLS struct {
	c       *conn
	proto   Protocol // t's protocol
	cfg     *tls.Config
	client  bool
	timeout time.Duration
	notify  time.Duration
	res     deferred.Resolver[Transport]
	opErr   func(error) error
	hs      *handshake
	done    bool // the promise is settled
}

// startTLSProto stands in for t's protocol while t flushes, to hear if t
// ends before the switch.
type startTLSProto struct{ s *startTLS }

func (p *startTLSProto) ConnectionMade(Transport) {}
func (p *startTLSProto) DataReceived(b []byte)    { p.s.proto.DataReceived(b) }
func (p *startTLSProto) ConnectionLost(err error) {
	s := p.s
	if !s.done {
		s.done = true
		cause := err
		if cause == nil {
			cause = ErrClosed
		}
		s.res.Reject(s.opErr(cause))
	}
	s.proto.ConnectionLost(err)
}

// flushed runs after each of t's flushes while the switch waits for its
// buffer to empty.
func (s *startTLS) flushed() {
	if !s.done && s.hs == nil && s.c.state&Closed == 0 && s.c.Buffered() == 0 {
		s.detach()
	}
}

// detach moves t's socket to a tls.Conn and starts the handshake.
func (s *startTLS) detach() {
	c := s.c
	r := c.r
	high, low, cap := c.WriteLimits()
	paused := c.state&ReadPaused != 0
	raw, err := c.detach()
	if err != nil {
		s.failed(err, true)
		return
	}
	var tc *tls.Conn
	if s.client {
		tc = tls.Client(raw, s.cfg)
	} else {
		tc = tls.Server(raw, s.cfg)
	}
	s.hs = startHandshake(r, tc, s.timeout, func(err error) {
		if err != nil {
			s.failed(err, false)
			return
		}
		nc := newNetConn(r, tc, s.proto, high, low, cap, paused, false, s.notify)
		if !s.done {
			s.done = true
			s.res.Resolve(nc)
		}
	})
}

// failed ends a switch whose socket has left t: the promise is rejected
// and the protocol told, now or (later) on a later pass.
func (s *startTLS) failed(err error, later bool) {
	e := s.opErr(connErr(err))
	if !s.done {
		s.done = true
		s.res.Reject(e)
	}
	if later {
		lostLater(s.c.r, s.proto, e)
		return
	}
	s.proto.ConnectionLost(e)
}

// lostLater calls p.ConnectionLost(err) on a later pass, or in the
// reactor's Close if that comes first.
func lostLater(r *reactor.Reactor, p Protocol, err error) {
	called := false
	var unhook func()
	call := func() {
		if !called {
			called = true
			unhook()
			p.ConnectionLost(err)
		}
	}
	unhook = r.OnClose(func() {
		unhook = func() {}
		call()
	})
	r.CallSoon(call)
}

func (s *startTLS) cancel() {
	if s.done {
		return
	}
	e := s.opErr(ErrCancelled)
	s.done = true
	s.res.Reject(e)
	if s.hs == nil {
		s.c.Abort() // still flushing: t's protocol hears ErrAborted
		return
	}
	// The protocol hears on a later pass, not inside Cancel.
	s.hs.done = func(error) { lostLater(s.c.r, s.proto, e) }
	s.hs.stop(ErrCancelled)
}

// detach takes c's descriptor out of the reactor and out of c, as a
// net.Conn, and ends c without a ConnectionLost: its protocol goes on
// elsewhere. net.FileConn works on a duplicate; the original is closed.
// c must be open, with nothing buffered.
func (c *conn) detach() (net.Conn, error) {
	c.stopReading()
	if c.writing {
		c.r.RemoveWriter(c.fd)
		c.writing = false
	}
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f)
	f.Close()
	c.fd = -1
	c.state = c.state&^(Closing|WritePaused) | Closed
	c.lost = true
	c.unhook()
	c.wbuf, c.woff = nil, 0
	return nc, err
}
