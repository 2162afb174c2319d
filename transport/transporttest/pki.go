package transporttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// PKI is a certificate authority made for tests, a server
// certificate it signed for localhost, 127.0.0.1 and ::1, and a
// self-signed one for the same names.
type PKI struct {
	// Roots holds the authority's certificate.
	Roots *x509.CertPool
	// CAPEM is the authority's certificate, PEM-encoded.
	CAPEM []byte
	// Server is a certificate for localhost, 127.0.0.1 and ::1 issued
	// by the authority; SelfSigned one for the same names that it did
	// not issue.
	Server, SelfSigned tls.Certificate
}

var (
	pkiOnce sync.Once
	pki     *PKI
	pkiErr  error
)

// TestPKI returns the process's test PKI, made on first use (failing t
// if that fails).
func TestPKI(t testing.TB) *PKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = NewPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

// NewPKI makes a fresh certificate authority and two server certificates.
func NewPKI() (*PKI, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, err
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loom test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(crand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, err
	}
	leaf := func(serial int64, parent *x509.Certificate, parentKey any) (tls.Certificate, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		if err != nil {
			return tls.Certificate{}, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(crand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, err
	}
	p := &PKI{Roots: x509.NewCertPool(), CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	p.Roots.AddCert(ca)
	if p.Server, err = leaf(2, ca, caKey); err != nil {
		return nil, err
	}
	if p.SelfSigned, err = leaf(3, nil, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// ServerConfig is a server's TLS configuration with Server.
func (p *PKI) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Server}}
}

// ClientConfig is a client's TLS configuration trusting the authority.
func (p *PKI) ClientConfig() *tls.Config { return &tls.Config{RootCAs: p.Roots} }
