package transporttest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

func init() {
	add("tls/echo", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		pki := TestPKI(t)
		ends := &countdown{n: 2, f: r.Stop}
		serverLost := errNotYet
		ln, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), func(a net.Addr) transport.Protocol {
			p := echo(lg)(a).(*proto)
			p.lost = func(err error) { serverLost = err; ends.done() }
			return p
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		want := bytes.Repeat([]byte("over TLS "), 200000) // 1.8 MB, many records
		var got bytes.Buffer
		clientLost := errNotYet
		c := &proto{lg: lg}
		c.made = func(tr transport.Transport) {
			if err := tr.Write(want); err != nil {
				t.Error(err)
			}
		}
		c.data = func(b []byte) {
			got.Write(b)
			if got.Len() >= len(want) {
				c.t.LoseConnection()
			}
		}
		c.lost = func(err error) { clientLost = err; ends.done() }
		transport.DialTLS(r, ln.Addr().String(), pki.ClientConfig(), c, transport.WithWriteLimits(0, 0, 4<<20)).
			OnError(func(err error) { t.Error(err); r.Stop() })
		reactortest.RunFor(t, l, limit)
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("echoed %d bytes, want %d, equal: %v", got.Len(), len(want), bytes.Equal(got.Bytes(), want[:min(got.Len(), len(want))]))
		}
		if clientLost != nil || serverLost != nil {
			t.Errorf("ConnectionLost: client %v, server %v; want nil, nil", clientLost, serverLost)
		}
	})

	add("tls/bad-certificate", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		pki := TestPKI(t)
		factoryCalls := 0
		ln, err := transport.ListenTLS(r, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.SelfSigned}},
			func(net.Addr) transport.Protocol { factoryCalls++; return &proto{lg: lg} })
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var got error
		c := &proto{lg: lg}
		c.made = func(transport.Transport) { t.Error("ConnectionMade with an untrusted certificate") }
		transport.DialTLS(r, ln.Addr().String(), pki.ClientConfig(), c).OnError(func(err error) {
			got = err
			r.CallLater(50*time.Millisecond, r.Stop) // let the server's side end too
		})
		reactortest.RunFor(t, l, limit)
		var unknown x509.UnknownAuthorityError
		if !errors.As(got, &unknown) {
			t.Errorf("dial with a certificate nobody trusts: %v, want an x509.UnknownAuthorityError", got)
		}
		if factoryCalls != 0 {
			t.Errorf("the server's factory ran %d times for a failed handshake", factoryCalls)
		}
	})

	add("tls/close-notify-unanswered", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		pki := TestPKI(t)
		// A TLS peer that answers the handshake, then reads nothing and
		// never sends its close_notify.
		ln, err := tls.Listen("tcp4", "127.0.0.1:0", pki.ServerConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		release := make(chan struct{})
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.(*tls.Conn).Handshake()
			<-release
		}()
		defer close(release)
		const wait = 300 * time.Millisecond
		lost := errNotYet
		var closedAfter time.Duration
		var start time.Time
		c := &proto{lg: lg}
		c.made = func(tr transport.Transport) {
			tr.Write([]byte("bye"))
			start = time.Now()
			tr.LoseConnection()
		}
		c.lost = func(err error) { lost = err; closedAfter = time.Since(start); r.Stop() }
		transport.DialTLS(r, ln.Addr().String(), pki.ClientConfig(), c, transport.WithCloseNotifyTimeout(wait)).
			OnError(func(err error) { t.Error(err); r.Stop() })
		reactortest.RunFor(t, l, limit)
		if lost != nil {
			t.Errorf("ConnectionLost(%v) after an unanswered close_notify, want nil", lost)
		}
		if closedAfter < wait {
			t.Errorf("closed %v after LoseConnection, before the close_notify wait of %v", closedAfter, wait)
		}
	})
}
