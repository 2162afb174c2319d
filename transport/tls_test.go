package transport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"github.com/loomkit/loom/transport/transporttest"
)

func getPKI(t *testing.T) *transporttest.PKI { return transporttest.TestPKI(t) }

// echoOn returns a factory of echoing protocols that check they run on
// the goroutine goid, and hands each to made.
func echoOn(t *testing.T, goid uint64, made func(*loopProto)) transport.Factory {
	return func(net.Addr) transport.Protocol {
		if g := stack.Goid(); g != goid {
			t.Errorf("factory ran on goroutine %d, not the loop's (%d)", g, goid)
		}
		p := newLoopProto(t)
		p.goid = goid
		p.data = func(b []byte) {
			if err := p.t.Write(b); err != nil {
				t.Errorf("echo: %v", err)
			}
		}
		if made != nil {
			made(p)
		}
		return p
	}
}

var quiet = transport.WithLogger(slog.New(slog.DiscardHandler))

func TestTLSEcho(t *testing.T) {
	reactortest.CheckLeaks(t)
	pki := getPKI(t)
	r := ncReactor(t)
	loop := stack.Goid()
	var server *loopProto
	pending := 2
	done := func() {
		if pending--; pending == 0 {
			r.Stop()
		}
	}
	l, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), echoOn(t, loop, func(p *loopProto) {
		server = p
		p.made = func(tr transport.Transport) {
			st, ok := transport.TLSConnectionState(tr)
			if !ok || !st.HandshakeComplete || st.Version != tls.VersionTLS13 {
				t.Errorf("server's TLS state: %v %+v", ok, st)
			}
		}
		p.lost = func(err error) {
			if err != nil {
				t.Errorf("server's ConnectionLost: %v", err)
			}
			done()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	msg := ncBytes(4<<20, 6)
	var got bytes.Buffer
	c := newLoopProto(t)
	c.made = func(tr transport.Transport) {
		st, ok := transport.TLSConnectionState(tr)
		if !ok || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "localhost" {
			t.Errorf("client's TLS state: %v %+v", ok, st)
		}
		if err := tr.Write(msg); err != nil {
			t.Error(err)
		}
	}
	c.data = func(b []byte) {
		got.Write(b)
		if got.Len() == len(msg) {
			c.t.LoseConnection()
		}
	}
	c.lost = func(err error) {
		if err != nil {
			t.Errorf("client's ConnectionLost: %v", err)
		}
		done()
	}
	pr := transport.DialTLS(r, l.Addr().String(), pki.ClientConfig(), c)
	pr.OnValue(func(tr transport.Transport) {
		if tr != c.t || c.nMade != 1 {
			t.Errorf("the promise resolved with %v, ConnectionMade had %v (%d calls)", tr, c.t, c.nMade)
		}
		if !strings.HasPrefix(tr.LocalAddr().String(), "127.0.0.1:") || tr.RemoteAddr().String() != l.Addr().String() {
			t.Errorf("addresses %v -> %v", tr.LocalAddr(), tr.RemoteAddr())
		}
	})
	pr.OnError(func(err error) { t.Errorf("DialTLS: %v", err); r.Stop() })
	ncRun(t, r)
	c.lostOnce(t)
	if server != nil {
		server.lostOnce(t)
	}
	if !bytes.Equal(got.Bytes(), msg) {
		t.Errorf("echo: got %d bytes, want %d", got.Len(), len(msg))
	}
}

func TestTLSInterop(t *testing.T) {
	pki := getPKI(t)
	msg := ncBytes(1<<20, 7)
	t.Run("stdlib server", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerConfig())
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			_, err = io.Copy(c, c) // until our close_notify
			c.Close()              // and its own
			served <- err
		}()
		defer ln.Close()
		var got bytes.Buffer
		c := newLoopProto(t)
		c.made = func(tr transport.Transport) { tr.Write(msg) }
		c.data = func(b []byte) {
			got.Write(b)
			if got.Len() == len(msg) {
				c.t.LoseConnection()
			}
		}
		c.lost = func(error) { r.Stop() }
		transport.DialTLS(r, ln.Addr().String(), pki.ClientConfig(), c).OnError(func(err error) { t.Error(err); r.Stop() })
		ncRun(t, r)
		if err := c.lostOnce(t); err != nil {
			t.Errorf("ConnectionLost: %v", err)
		}
		if !bytes.Equal(got.Bytes(), msg) {
			t.Errorf("echo: got %d bytes, want %d", got.Len(), len(msg))
		}
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	t.Run("half-close", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerConfig())
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			defer c.Close()
			all, err := io.ReadAll(c) // until our close_notify
			sum := sha256.Sum256(all)
			c.Write(sum[:])
			served <- err
		}()
		defer ln.Close()
		var got bytes.Buffer
		c := newLoopProto(t)
		c.made = func(tr transport.Transport) {
			tr.Write(msg)
			if err := tr.LoseWriteConnection(); err != nil {
				t.Error(err)
			}
		}
		c.data = func(b []byte) { got.Write(b) }
		c.lost = func(error) { r.Stop() }
		transport.DialTLS(r, ln.Addr().String(), pki.ClientConfig(), c).OnError(func(err error) { t.Error(err); r.Stop() })
		ncRun(t, r)
		if err := c.lostOnce(t); err != nil {
			t.Errorf("ConnectionLost: %v", err)
		}
		if sum := sha256.Sum256(msg); !bytes.Equal(got.Bytes(), sum[:]) {
			t.Errorf("the server read something else than what was written")
		}
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	t.Run("stdlib client", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		var server *loopProto
		pending := 2
		done := func() {
			if pending--; pending == 0 {
				r.Stop()
			}
		}
		l, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), echoOn(t, stack.Goid(), func(p *loopProto) {
			server = p
			p.lost = func(error) { done() }
		}))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addr := l.Addr().String()
		var got []byte
		var clientErr error
		go func() {
			all, err := func() ([]byte, error) {
				cfg := pki.ClientConfig()
				cfg.ServerName = "localhost"
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					return nil, err
				}
				defer c.Close()
				go func() {
					c.Write(msg)
					c.CloseWrite()
				}()
				return io.ReadAll(c) // until the server's close_notify
			}()
			r.CallFromGoroutine(func() { got, clientErr = all, err; done() })
		}()
		ncRun(t, r)
		if clientErr != nil {
			t.Fatalf("client: %v", clientErr)
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("echo: got %d bytes, want %d", len(got), len(msg))
		}
		if err := server.lostOnce(t); err != nil {
			t.Errorf("server's ConnectionLost: %v", err)
		}
	})
}

func TestTLSBadCertificate(t *testing.T) {
	pki := getPKI(t)
	for _, tc := range []struct {
		name       string
		cert       tls.Certificate
		serverName string
		check      func(error) bool
	}{
		{"self-signed", pki.SelfSigned, "", func(err error) bool {
			var ua x509.UnknownAuthorityError
			return errors.As(err, &ua)
		}},
		{"wrong host name", pki.Server, "wrong.example", func(err error) bool {
			var he x509.HostnameError
			return errors.As(err, &he) && he.Host == "wrong.example"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			r := ncReactor(t)
			made := 0
			l, err := transport.ListenTLS(r, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{tc.cert}},
				func(net.Addr) transport.Protocol { made++; return newLoopProto(t) }, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			cfg := pki.ClientConfig()
			cfg.ServerName = tc.serverName
			c := newLoopProto(t)
			var got error
			transport.DialTLS(r, l.Addr().String(), cfg, c).OnError(func(err error) {
				got = err
				r.CallLater(50*time.Millisecond, r.Stop) // and the server's handshake fails
			})
			ncRun(t, r)
			var cve *tls.CertificateVerificationError
			var op *transport.OpError
			if !tc.check(got) || !errors.As(got, &cve) || !errors.As(got, &op) || op.Op != "dial" {
				t.Fatalf("DialTLS: %v (%T)", got, errors.Unwrap(got))
			}
			t.Log(got)
			if c.nMade != 0 || c.nLost != 0 {
				t.Errorf("the client's protocol heard of it: made %d, lost %d", c.nMade, c.nLost)
			}
			if made != 0 {
				t.Errorf("the server's factory ran %d times", made)
			}
		})
	}
}

func TestTLSCloseNotifyUnanswered(t *testing.T) {
	reactortest.CheckLeaks(t)
	pki := getPKI(t)
	r := ncReactor(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		err = tls.Server(c, pki.ServerConfig()).Handshake()
		<-release // then read nothing, answer nothing, close nothing
		c.Close()
		served <- err
	}()
	defer func() {
		close(release)
		ln.Close()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	var start time.Time
	var took time.Duration
	c := newLoopProto(t)
	c.made = func(tr transport.Transport) {
		tr.Write([]byte("last words"))
		start = time.Now()
		tr.LoseConnection()
		if tr.State()&transport.Closing == 0 {
			t.Errorf("state after LoseConnection: %v", tr.State())
		}
	}
	c.lost = func(error) { took = time.Since(start); r.Stop() }
	transport.DialTLS(r, ln.Addr().String(), pki.ClientConfig(), c).OnError(func(err error) { t.Error(err); r.Stop() })
	guard := r.CallLater(transport.CloseNotifyTimeout+15*time.Second, func() {
		t.Error("LoseConnection did not complete")
		r.Stop()
	})
	ncRun(t, r)
	guard.Cancel()
	if err := c.lostOnce(t); err != nil {
		t.Errorf("ConnectionLost: %v", err)
	}
	t.Logf("closed after %v", took)
}

// answerLen is the length of startTLSServer's answer, more than the
// kernel's buffers take at once.
const answerLen = 8 << 20

// startTLSListen listens for the server side of a STARTTLS exchange on
// a plaintext TCP connection: on "STARTTLS\n" it answers with a long
// line (so the answer is still being flushed when the switch starts) and
// switches; then it echoes over TLS.
func startTLSListen(t *testing.T, r *reactor.Reactor, pki *transporttest.PKI, onLost func(*loopProto, error)) *transport.Listener {
	l, err := transport.ListenTCP(r, "127.0.0.1:0", startTLSServer(t, pki, stack.Goid(), onLost), transport.WithWriteLimits(0, 0, 2*answerLen))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func startTLSServer(t *testing.T, pki *transporttest.PKI, goid uint64, onLost func(*loopProto, error)) transport.Factory {
	return func(net.Addr) transport.Protocol {
		p := newLoopProto(t)
		p.goid = goid
		var line []byte
		secure := false
		p.data = func(b []byte) {
			if secure {
				p.t.Write(b)
				return
			}
			line = append(line, b...)
			if string(line) != "STARTTLS\n" {
				if len(line) > 9 {
					t.Errorf("server read %q in plaintext", line)
				}
				return
			}
			old := p.t
			if err := old.Write(append(bytes.Repeat([]byte("."), answerLen-1), '\n')); err != nil {
				t.Error(err)
			}
			if old.Buffered() == 0 {
				t.Error("the whole answer went at once: the flush wait is not exercised")
			}
			pr := transport.StartTLS(old, pki.ServerConfig(), false)
			if err := old.Write([]byte("plaintext")); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Write during the switch: %v", err)
			}
			pr.OnValue(func(tr transport.Transport) {
				secure = true
				p.t = tr
				if _, ok := transport.TLSConnectionState(tr); !ok {
					t.Error("no TLS state after StartTLS")
				}
				if old.State()&transport.Closed == 0 {
					t.Errorf("old transport's state: %v", old.State())
				}
			})
			pr.OnError(func(err error) { t.Logf("server's StartTLS: %v", err) })
		}
		p.lost = func(err error) { onLost(p, err) }
		return p
	}
}

func TestStartTLS(t *testing.T) {
	pki := getPKI(t)
	t.Run("loom client", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		pending := 2
		done := func() {
			if pending--; pending == 0 {
				r.Stop()
			}
		}
		var server *loopProto
		l := startTLSListen(t, r, pki, func(p *loopProto, err error) {
			server = p
			if err != nil {
				t.Errorf("server's ConnectionLost: %v", err)
			}
			done()
		})
		defer l.Close()
		c := newLoopProto(t)
		var plain, secret bytes.Buffer
		secure := false
		c.made = func(tr transport.Transport) { tr.Write([]byte("STARTTLS\n")) }
		c.data = func(b []byte) {
			if secure {
				secret.Write(b)
				if secret.String() == "secret" {
					c.t.LoseConnection()
				}
				return
			}
			plain.Write(b)
			if !bytes.HasSuffix(b, []byte("\n")) {
				return
			}
			if plain.Len() != answerLen {
				t.Errorf("plaintext answer of %d bytes", plain.Len())
			}
			cfg := pki.ClientConfig()
			cfg.ServerName = "localhost"
			pr := transport.StartTLS(c.t, cfg, true)
			pr.OnValue(func(tr transport.Transport) {
				secure = true
				c.t = tr
				st, ok := transport.TLSConnectionState(tr)
				if !ok || st.PeerCertificates[0].Subject.CommonName != "localhost" {
					t.Errorf("client's TLS state: %v %+v", ok, st)
				}
				tr.Write([]byte("sec"))
				tr.Write([]byte("ret"))
			})
			pr.OnError(func(err error) { t.Errorf("client's StartTLS: %v", err) })
		}
		c.lost = func(err error) {
			if err != nil {
				t.Errorf("client's ConnectionLost: %v", err)
			}
			done()
		}
		transport.DialTCP(r, l.Addr().String(), c).OnError(func(err error) { t.Error(err); r.Stop() })
		ncRun(t, r)
		c.lostOnce(t)
		if server != nil {
			server.lostOnce(t)
		}
		if secret.String() != "secret" {
			t.Errorf("read %q over TLS", secret.String())
		}
	})
	t.Run("stdlib client", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		pending := 2
		done := func() {
			if pending--; pending == 0 {
				r.Stop()
			}
		}
		var server *loopProto
		l := startTLSListen(t, r, pki, func(p *loopProto, err error) {
			server = p
			if err != nil {
				t.Errorf("server's ConnectionLost: %v", err)
			}
			done()
		})
		defer l.Close()
		addr := l.Addr().String()
		var got string
		var clientErr error
		go func() {
			s, err := func() (string, error) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					return "", err
				}
				defer c.Close()
				c.Write([]byte("STARTTLS\n"))
				// Nothing follows the answer until the client speaks
				// TLS: no read can take TLS bytes as plaintext.
				answer := make([]byte, answerLen)
				if _, err := io.ReadFull(c, answer); err != nil {
					return "", err
				}
				if answer[answerLen-1] != '\n' {
					return "", errors.New("no end of line")
				}
				cfg := pki.ClientConfig()
				cfg.ServerName = "localhost"
				tc := tls.Client(c, cfg)
				if _, err := tc.Write([]byte("secret")); err != nil {
					return "", err
				}
				tc.CloseWrite()
				b, err := io.ReadAll(tc)
				return string(b), err
			}()
			r.CallFromGoroutine(func() { got, clientErr = s, err; done() })
		}()
		ncRun(t, r)
		if clientErr != nil || got != "secret" {
			t.Errorf("client read %q, %v", got, clientErr)
		}
		if server != nil {
			server.lostOnce(t)
		}
	})
	t.Run("bad certificate", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		pending := 2
		done := func() {
			if pending--; pending == 0 {
				r.Stop()
			}
		}
		l := startTLSListen(t, r, pki, func(p *loopProto, err error) {
			if err == nil {
				t.Error("server's ConnectionLost: nil after a failed handshake")
			}
			done()
		})
		defer l.Close()
		c := newLoopProto(t)
		var rejected error
		n := 0
		c.made = func(tr transport.Transport) { tr.Write([]byte("STARTTLS\n")) }
		c.data = func(b []byte) {
			if n += len(b); n < answerLen {
				return
			}
			cfg := pki.ClientConfig()
			cfg.ServerName = "wrong.example"
			pr := transport.StartTLS(c.t, cfg, true)
			pr.OnValue(func(transport.Transport) { t.Error("StartTLS with a wrong name succeeded") })
			pr.OnError(func(err error) { rejected = err })
		}
		c.lost = func(error) { done() }
		transport.DialTCP(r, l.Addr().String(), c).OnError(func(err error) { t.Error(err); r.Stop() })
		ncRun(t, r)
		var he x509.HostnameError
		var op *transport.OpError
		if !errors.As(rejected, &he) || !errors.As(rejected, &op) || op.Op != "handshake" {
			t.Errorf("StartTLS: %v", rejected)
		}
		if err := c.lostOnce(t); err == nil || !errors.Is(rejected, err) {
			t.Errorf("ConnectionLost(%v), want the promise's error", err)
		}
	})
	t.Run("misuse", func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		r := ncReactor(t)
		p := newLoopProto(t)
		tr, err := transport.FromNetConn(r, a, p)
		if err != nil {
			t.Fatal(err)
		}
		var got error
		transport.StartTLS(tr, pki.ClientConfig(), true).OnError(func(err error) { got = err })
		if !errors.Is(got, errors.ErrUnsupported) {
			t.Errorf("StartTLS on a net.Conn transport: %v", got)
		}
		if tr.State()&transport.Open == 0 || tr.State()&transport.Closed != 0 {
			t.Errorf("state after a refused StartTLS: %v", tr.State())
		}
		if _, ok := transport.TLSConnectionState(tr); ok {
			t.Error("TLS state on a pipe")
		}
		tr.Abort()
	})
}

// silentServer accepts TCP connections and never speaks; each is read
// (and discarded) until it closes, which the returned channel reports.
func silentServer(t *testing.T, r *reactor.Reactor, accepted func()) (addr string, closed chan error, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed = make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r.CallFromGoroutine(accepted)
		_, err = io.Copy(io.Discard, c)
		c.Close()
		closed <- err
	}()
	return ln.Addr().String(), closed, func() { ln.Close(); <-done }
}

func TestTLSDialCancelAndTimeout(t *testing.T) {
	pki := getPKI(t)
	t.Run("cancel in the handshake", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		var pr *deferred.Promise[transport.Transport]
		addr, closed, stop := silentServer(t, r, func() {
			r.CallLater(20*time.Millisecond, func() { pr.Cancel() })
		})
		defer stop()
		c := newLoopProto(t)
		var got error
		pr = transport.DialTLS(r, addr, pki.ClientConfig(), c)
		pr.OnError(func(err error) { got = err; r.Stop() })
		ncRun(t, r)
		if !errors.Is(got, transport.ErrCancelled) {
			t.Errorf("DialTLS: %v, want ErrCancelled", got)
		}
		if err := <-closed; err != nil {
			t.Errorf("the server's connection: %v, want its end", err)
		}
		if c.nMade != 0 || c.nLost != 0 {
			t.Errorf("the protocol heard of it: made %d, lost %d", c.nMade, c.nLost)
		}
	})
	t.Run("cancel in the connect", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		addr, _, stop := silentServer(t, r, func() {})
		defer stop()
		var got error
		pr := transport.DialTLS(r, addr, pki.ClientConfig(), newLoopProto(t))
		pr.OnError(func(err error) { got = err })
		pr.Cancel()
		if !errors.Is(got, transport.ErrCancelled) {
			t.Errorf("DialTLS: %v, want ErrCancelled", got)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		addr, closed, stop := silentServer(t, r, func() {})
		defer stop()
		var got error
		transport.DialTLS(r, addr, pki.ClientConfig(), newLoopProto(t), transport.WithTimeout(200*time.Millisecond)).
			OnError(func(err error) { got = err; r.Stop() })
		ncRun(t, r)
		var op *transport.OpError
		if !errors.Is(got, transport.ErrTimeout) || !errors.As(got, &op) || !op.Timeout() {
			t.Errorf("DialTLS: %v, want a timeout", got)
		}
		if err := <-closed; err != nil {
			t.Errorf("the server's connection: %v, want its end", err)
		}
	})
}

func TestTLSReactorCloseMidConnection(t *testing.T) {
	reactortest.CheckLeaks(t)
	pki := getPKI(t)
	r := ncReactor(t)
	loop := stack.Goid()
	var server *loopProto
	l, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), echoOn(t, loop, func(p *loopProto) { server = p }))
	if err != nil {
		t.Fatal(err)
	}
	// A second dial is stuck in its handshake when the reactor closes.
	ready := 0
	maybeStop := func() {
		if ready++; ready == 2 {
			r.Stop()
		}
	}
	saddr, _, stop := silentServer(t, r, maybeStop)
	defer stop()
	var stuck error
	transport.DialTLS(r, saddr, pki.ClientConfig(), newLoopProto(t)).OnError(func(err error) { stuck = err })

	chunk := ncBytes(64<<10, 8)
	received := 0
	c := &flowProto{loopProto: newLoopProto(t)}
	paused := false
	var tr transport.Transport
	fill := func() {
		for !paused && tr.State()&transport.Closed == 0 {
			if err := tr.Write(chunk); err != nil {
				t.Error(err)
				return
			}
		}
	}
	c.pause = func() { paused = true }
	c.resume = func() { paused = false; fill() }
	c.made = func(t transport.Transport) {
		tr = t
		r.CallSoon(fill)
	}
	c.data = func(b []byte) {
		if received < 4<<20 && received+len(b) >= 4<<20 {
			maybeStop()
		}
		received += len(b)
	}
	transport.DialTLS(r, l.Addr().String(), pki.ClientConfig(), c).OnError(func(err error) { t.Error(err); r.Stop() })
	ncRun(t, r)
	if c.nLost != 0 || server == nil || server.nLost != 0 || stuck != nil {
		t.Fatalf("ended before Close: client %d, server %v, dial %v", c.nLost, server, stuck)
	}
	r.Close()
	if err := c.lostOnce(t); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("client's ConnectionLost: %v", err)
	}
	if err := server.lostOnce(t); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("server's ConnectionLost: %v", err)
	}
	if !errors.Is(stuck, transport.ErrClosed) {
		t.Errorf("the dial in its handshake: %v", stuck)
	}
}

func TestTLSPausingReader(t *testing.T) {
	reactortest.CheckLeaks(t)
	pki := getPKI(t)
	r := ncReactor(t)
	const total, chunk = 16 << 20, 32 << 10
	msg := ncBytes(total, 9)
	var server *flowProto
	peak := 0
	l, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), func(net.Addr) transport.Protocol {
		p := &flowProto{loopProto: newLoopProto(t)}
		server = p
		sent, paused := 0, false
		var fill func()
		fill = func() {
			for !paused && sent < total {
				if err := p.t.Write(msg[sent : sent+chunk]); err != nil {
					t.Error(err)
					return
				}
				sent += chunk
				peak = max(peak, p.t.Buffered())
			}
			if sent == total {
				p.t.LoseConnection()
			}
		}
		p.pause = func() { paused = true }
		p.resume = func() { paused = false; fill() }
		p.made = func(transport.Transport) { fill() }
		p.lost = func(err error) {
			if err != nil {
				t.Errorf("server's ConnectionLost: %v", err)
			}
		}
		return p
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tcp, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc := &countConn{Conn: tcp}
	cfg := pki.ClientConfig()
	cfg.ServerName = "localhost"
	// One TLS read, at most, may be under way when PauseReading comes:
	// one record, which crypto/tls reads into a buffer of a few.
	pr := newPausingReader(t, r, cc.read.Load, transport.ReadSize)
	pr.lost = func(error) {
		if _, ok := transport.TLSConnectionState(pr.t); !ok {
			t.Error("no TLS state after the handshake on the reader goroutine")
		}
		r.CallLater(10*time.Millisecond, r.Stop)
	}
	// The handshake runs on the reader goroutine.
	if _, err := transport.FromNetConn(r, tls.Client(cc, cfg), pr); err != nil {
		t.Fatal(err)
	}
	ncRun(t, r)
	if err := pr.lostOnce(t); err != nil {
		t.Errorf("ConnectionLost: %v", err)
	}
	if server != nil {
		server.lostOnce(t)
	}
	if sum := sha256.Sum256(msg); pr.got != total || !bytes.Equal(pr.h.Sum(nil), sum[:]) {
		t.Errorf("got %d bytes, want %d, checksums differ", pr.got, total)
	}
	high, _, _ := server.t.WriteLimits()
	if peak > high+chunk {
		t.Errorf("the server buffered up to %d bytes, past the high mark plus one write (%d)", peak, high+chunk)
	}
	if pr.pauses < 10 {
		t.Errorf("only %d pauses", pr.pauses)
	}
	t.Logf("%d pauses, at most %d ciphertext bytes read while paused, server's peak buffer %d", pr.pauses, pr.maxWhile, peak)
}

func TestTLSOpenSSLClient(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl command to test against")
	}
	reactortest.CheckLeaks(t)
	pki := getPKI(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pki.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	r := ncReactor(t)
	pending := 2
	done := func() {
		if pending--; pending == 0 {
			r.Stop()
		}
	}
	var server *loopProto
	l, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), func(net.Addr) transport.Protocol {
		p := newLoopProto(t)
		server = p
		var line []byte
		p.data = func(b []byte) {
			line = append(line, b...)
			if bytes.HasSuffix(line, []byte("\n")) {
				p.t.Write(append([]byte("loom heard: "), line...))
				p.t.LoseConnection()
			}
		}
		p.lost = func(err error) {
			if err != nil {
				t.Errorf("server's ConnectionLost: %v", err)
			}
			done()
		}
		return p
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", l.Addr().String(), "-CAfile", ca,
		"-servername", "localhost", "-verify_hostname", "localhost", "-verify_return_error", "-quiet")
	cmd.Stdin = strings.NewReader("hello from openssl\n")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var runErr error
	go func() {
		err := cmd.Wait()
		r.CallFromGoroutine(func() { runErr = err; done() })
	}()
	ncRun(t, r)
	if runErr != nil || out.String() != "loom heard: hello from openssl\n" {
		t.Errorf("openssl s_client: %v, output %q, stderr:\n%s", runErr, out.String(), stderr.String())
	}
	if server != nil {
		server.lostOnce(t)
	}
}
