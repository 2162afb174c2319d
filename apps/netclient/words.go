package netclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// Describe says in words what went wrong: refused, reset, timed out, a
// name that does not resolve, a certificate not trusted, a body cut
// short. It reads the error with errors.Is and errors.As, so it knows
// transport's, protocol's and net/http's errors alike.
func Describe(err error) string {
	var (
		body     *protocol.BodyError
		dns      *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &body):
		got := Bytes(body.Received)
		if body.Total >= 0 {
			got += " of " + Bytes(body.Total)
		}
		return fmt.Sprintf("broke off after %s: %s", got, Describe(body.Err))
	case errors.Is(err, reactor.ErrClosed):
		return "closed"
	case errors.Is(err, deferred.ErrCancelled):
		return "cancelled"
	case errors.Is(err, transport.ErrRefused), errors.Is(err, syscall.ECONNREFUSED):
		return "refused: nothing is listening there"
	case errors.Is(err, transport.ErrReset), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset by the peer"
	case errors.Is(err, transport.ErrTimeout), errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timed out"
	case errors.Is(err, transport.ErrUnreachable), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable: no route to the host"
	case errors.Is(err, transport.ErrAborted):
		return "aborted"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "no such host: " + dns.Name
		}
		return "the name " + dns.Name + " did not resolve: " + dns.Err
	case errors.As(err, &unknown):
		return "the certificate is not trusted: signed by an unknown authority"
	case errors.As(err, &hostname):
		return "the certificate is for another host: " + hostname.Error()
	case errors.As(err, &invalid):
		return "the certificate is not valid: " + invalid.Error()
	case errors.As(err, &record):
		return "the server does not speak TLS"
	case errors.Is(err, protocol.ErrLineTooLong):
		return "a line too long"
	case errors.Is(err, transport.ErrClosed):
		return "closed"
	}
	// The last part of a chain of "op: op: cause" is the cause.
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		s = s[i+2:]
	}
	return s
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Bytes writes a size in bytes the way people read it: 512 B, 3.2 KiB,
// 48.0 MiB, 1.50 GiB.
func Bytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
}

// Rate writes a speed in bytes a second.
func Rate(bps float64) string {
	if bps <= 0 || math.IsNaN(bps) || math.IsInf(bps, 0) {
		return "—"
	}
	return Bytes(int64(bps)) + "/s"
}

// Duration writes a time span for people: 850 ms, 4.2 s, 3 min 20 s,
// 1 h 05 min.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// Left is the time left for a transfer with left bytes to go at bps, in
// words ("" when it cannot be told).
func Left(left int64, bps float64) string {
	if left < 0 || bps <= 0 {
		return ""
	}
	d := time.Duration(float64(left) / bps * float64(time.Second))
	switch {
	case d < time.Second:
		return "less than a second left"
	case d < time.Minute:
		return fmt.Sprintf("%d s left", int(d.Round(time.Second).Seconds()))
	}
	return Duration(d.Round(time.Second)) + " left"
}
