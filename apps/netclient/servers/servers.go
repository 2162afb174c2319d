// Package servers holds the servers netclient starts for itself on
// 127.0.0.1 when it is given no address, so that it has something to talk
// to offline: a line server built on loom (a transport.Listener and a
// protocol line receiver, plaintext and TLS) whose commands answer in
// lines, and an HTTP server (net/http, on goroutines of its own) whose
// generated files arrive at a throttled rate, so that progress bars
// visibly move, one of them with no Content-Length.
package servers

import (
	"crypto/tls"
	"errors"

	"github.com/loomkit/loom/reactor"
)

// Local is the set of local servers, on ports the kernel picked.
type Local struct {
	Cert          *Certificate
	Line, LineTLS *LineServer
	HTTP          *HTTPServer
}

// Start starts the line servers on r and the HTTP servers on goroutines,
// all on 127.0.0.1. Reactor goroutine.
func Start(r *reactor.Reactor) (*Local, error) {
	cert, err := NewCertificate()
	if err != nil {
		return nil, err
	}
	l := &Local{Cert: cert}
	if l.Line, err = ListenLine(r, "127.0.0.1:0", nil); err != nil {
		return nil, err
	}
	if l.LineTLS, err = ListenLine(r, "127.0.0.1:0", cert.ServerConfig()); err != nil {
		l.Close()
		return nil, err
	}
	if l.HTTP, err = ListenHTTP("127.0.0.1:0", cert.ServerConfig()); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// ClientConfig is a TLS configuration that trusts the local servers'
// certificate as well as the system's roots.
func (l *Local) ClientConfig() *tls.Config { return l.Cert.ClientConfig() }

// URLs are the HTTP server's pages, plaintext then TLS, to offer in the
// client's URL box.
func (l *Local) URLs() []string {
	var urls []string
	for _, p := range Paths {
		urls = append(urls, l.HTTP.URL+p)
	}
	urls = append(urls, l.HTTP.TLSURL+Paths[0])
	return urls
}

// Close stops every server. Reactor goroutine.
func (l *Local) Close() error {
	var err error
	if l.Line != nil {
		err = errors.Join(err, l.Line.Close())
	}
	if l.LineTLS != nil {
		err = errors.Join(err, l.LineTLS.Close())
	}
	if l.HTTP != nil {
		err = errors.Join(err, l.HTTP.Close())
	}
	return err
}
