package protocol_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/protocol/protocoltest"
	"github.com/loomkit/loom/reactor/reactortest"
)

// htNginx is Debian's nginx, started by a test on two free ports of
// 127.0.0.1: plain HTTP/1.1, and TLS with HTTP/2, gzip on for text.
type htNginx struct {
	root  string // the folder it serves
	plain string // base URLs
	tls   string
	pool  *x509.CertPool // trusts its certificate
}

// htStartNginx starts nginx for t, or skips t if it is not installed.
// It is stopped when t ends.
func htStartNginx(t *testing.T) *htNginx {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Skip("nginx is not installed (Debian: apt-get install nginx-light): the tests against a real server are skipped")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	n := &htNginx{root: filepath.Join(dir, "www")}
	if err := os.Mkdir(n.root, 0o755); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := htSelfSigned(t, dir)
	n.pool = pool
	plainPort, tlsPort := htFreePort(t), htFreePort(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	types { text/plain txt; application/octet-stream bin; }
	default_type application/octet-stream;
	sendfile on;
	gzip on;
	gzip_types text/plain;
	server {
		listen 127.0.0.1:%[2]d;
		listen 127.0.0.1:%[3]d ssl http2;
		ssl_certificate %[4]s;
		ssl_certificate_key %[5]s;
		root %[6]s;
	}
}
`, dir, plainPort, tlsPort, certFile, keyFile, n.root)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	n.plain = fmt.Sprintf("http://127.0.0.1:%d", plainPort)
	n.tls = fmt.Sprintf("https://127.0.0.1:%d", tlsPort)
	for _, port := range []int{plainPort, tlsPort} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				t.Fatalf("nginx does not listen on %d: %v\n%s", port, err, log)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n
}

// client returns a client of a transport of its own, for HTTP/2 over
// TLS that trusts nginx's certificate; its idle connections are closed
// when t ends. Without keep-alive a connection closes when its request
// ends, an HTTP/2 one when its last stream does.
func (n *htNginx) client(t *testing.T, keepAlive bool) *protocol.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: n.pool}, ForceAttemptHTTP2: true, DisableKeepAlives: !keepAlive}
	t.Cleanup(tr.CloseIdleConnections)
	return &protocol.Client{HTTP: &http.Client{Transport: tr}}
}

func htFreePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// htSelfSigned writes a certificate for 127.0.0.1 and its key into dir.
func htSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "loom test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile, pool
}

// Against nginx, a server nobody here wrote: a file fetched over
// HTTP/1.1 and over HTTP/2 with TLS arrives whole, its progress rising
// to its length; a gzip-encoded text has no known total; a transfer
// over HTTP/2 streamed with pauses arrives whole, and one cancelled in
// the middle leaves no file and nothing running. Every callback is on
// the loop goroutine.
func TestHTTPNginx(t *testing.T) {
	n := htStartNginx(t)
	file := protocoltest.Payload(8<<20 + 11)
	if err := os.WriteFile(filepath.Join(n.root, "file.bin"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	text := []byte(strings.Repeat("a line of text that compresses well\n", 50000))
	if err := os.WriteFile(filepath.Join(n.root, "text.txt"), text, 0o644); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(n.root, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(1 << 30) // sparse: zeros, read fast
	big.Close()

	fetch := func(t *testing.T, url string, wantProto int, want []byte, wantTotal int64) {
		reactortest.CheckLeaks(t)
		c := n.client(t, true)
		l, r, g := htLoop(t)
		tr := &htTransfers{g: g}
		var doc *protocol.Document
		r.CallSoon(func() {
			p := c.Fetch(r, url)
			deferred.On(p, protocol.Download, tr.add)
			p.OnValue(func(d *protocol.Document) { g.Check("OnValue"); doc = d; r.Stop() })
			p.OnError(func(err error) { t.Error(err); r.Stop() })
		})
		reactortest.RunFor(t, l, htLimit)
		if doc == nil {
			t.Fatal("no document")
		}
		if doc.StatusCode != 200 || doc.ProtoMajor != wantProto || !bytes.Equal(doc.Body, want) {
			t.Fatalf("%s: %d bytes over HTTP/%d, want %d over HTTP/%d", doc.Status, len(doc.Body), doc.ProtoMajor, len(want), wantProto)
		}
		var prev int64
		for i, e := range tr.ev {
			if e.Done < prev || e.Total != wantTotal {
				t.Errorf("event %d: %+v after %d, want total %d", i, e, prev, wantTotal)
			}
			prev = e.Done
		}
		if tr.last().Done != int64(len(want)) {
			t.Errorf("the final event has %d bytes, want %d", tr.last().Done, len(want))
		}
	}
	t.Run("http1", func(t *testing.T) { fetch(t, n.plain+"/file.bin", 1, file, int64(len(file))) })
	t.Run("http2-tls", func(t *testing.T) { fetch(t, n.tls+"/file.bin", 2, file, int64(len(file))) })
	t.Run("gzip", func(t *testing.T) { fetch(t, n.plain+"/text.txt", 1, text, -1) })
	t.Run("http2-tls-gzip", func(t *testing.T) { fetch(t, n.tls+"/text.txt", 2, text, -1) })

	t.Run("http2-stream-pauses", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		c := n.client(t, true)
		l, r, g := htLoop(t)
		p := &htRecorder{g: g}
		var got bytes.Buffer
		chunks := 0
		p.onData = func(p *htRecorder) {
			if chunks++; chunks%4 == 0 {
				p.tr.PauseReading()
				r.CallLater(time.Millisecond, p.tr.ResumeReading)
			}
		}
		var n64 int64
		r.CallSoon(func() {
			c.Get(r, n.tls+"/file.bin").OnValue(func(resp *protocol.Response) {
				sp := resp.Stream(&htTee{p, &got})
				sp.OnValue(func(v int64) { n64 = v; r.Stop() })
				sp.OnError(func(err error) { t.Error(err); r.Stop() })
			})
		})
		reactortest.RunFor(t, l, htLimit)
		if n64 != int64(len(file)) || !bytes.Equal(got.Bytes(), file) || p.lostErr != nil {
			t.Errorf("streamed %d bytes (promise %d), ConnectionLost(%v); want %d as served", got.Len(), n64, p.lostErr, len(file))
		}
	})

	for _, base := range []string{n.plain, n.tls} {
		name := map[string]string{n.plain: "cancel-save/http1", n.tls: "cancel-save/http2-tls"}[base]
		t.Run(name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			c := n.client(t, false) // the stream, once reset, ends the connection
			dir := t.TempDir()
			l, r, g := htLoop(t)
			var err error
			var left []os.DirEntry
			r.CallSoon(func() {
				c.Get(r, base+"/big.bin").OnValue(func(resp *protocol.Response) {
					p := resp.SaveTo(filepath.Join(dir, "big.bin"))
					deferred.On(p, deferred.Progress, func(c deferred.Count) {
						g.Check("Progress")
						if c.Done > 4<<20 {
							p.Cancel()
						}
					})
					p.OnError(func(e error) { err = e; left, _ = os.ReadDir(dir); r.Stop() })
					p.OnValue(func(int64) { t.Error("the save resolved"); r.Stop() })
				})
			})
			reactortest.RunFor(t, l, htLimit)
			if !errors.Is(err, deferred.ErrCancelled) {
				t.Errorf("a cancelled save: %v", err)
			}
			if len(left) != 0 {
				t.Errorf("the folder held %v when the promise was rejected", left)
			}
		})
	}
}

// htTee is a protocol that copies the bytes to w and passes every call
// on.
type htTee struct {
	*htRecorder
	w *bytes.Buffer
}

func (p *htTee) DataReceived(b []byte) {
	p.w.Write(b)
	p.htRecorder.DataReceived(b)
}
