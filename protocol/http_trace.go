package protocol

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"

	"github.com/loomkit/loom/deferred"
)

// Phase is a step of an HTTP exchange, as net/http/httptrace reports it.
type Phase uint8

// The phases, in the order they usually come. A request on a connection
// kept alive has only PhaseGotConn, PhaseWroteRequest and
// PhaseFirstByte; one to an IP address has no DNS phases, one over
// plain HTTP no TLS phases; Happy Eyeballs may connect more than once.
const (
	PhaseDNSStart     Phase = iota + 1 // looking the host up; Addr is the host
	PhaseDNSDone                       // Addr lists the addresses found, or Err says why none
	PhaseConnectStart                  // dialing; Addr is the address
	PhaseConnectDone                   // connected to Addr, or Err
	PhaseTLSStart                      // the TLS handshake begins
	PhaseTLSDone                       // the handshake is over, or Err (a certificate that does not verify)
	PhaseGotConn                       // a connection is ready for the request; Addr is the server's, Reused says if it was kept alive
	PhaseWroteRequest                  // the request (headers and body) is written, or Err
	PhaseFirstByte                     // the first byte of the response arrived
)

var phaseNames = [...]string{"", "dns-start", "dns-done", "connect-start", "connect-done", "tls-start", "tls-done", "got-conn", "wrote-request", "first-byte"}

// String returns the phase's name, such as "tls-done".
func (p Phase) String() string {
	if int(p) < len(phaseNames) && p != 0 {
		return phaseNames[p]
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// PhaseReport is the value of a Phases event.
type PhaseReport struct {
	Phase Phase
	// Elapsed is the time from Do to the phase.
	Elapsed time.Duration
	// Addr is the host, the addresses or the address the phase is
	// about, if any.
	Addr string
	// Reused is, for PhaseGotConn, whether the connection was kept alive
	// from an earlier request.
	Reused bool
	// Err is the failure of a phase that failed.
	Err error
}

// Phases is the event of an exchange's phases, emitted by the promises
// of Do, Get and Fetch on the reactor goroutine until the response's
// headers arrive: each comes as its httptrace hook runs, in order.
var Phases = deferred.NewEvent[PhaseReport]("phase")

// trace returns ctx with httptrace hooks that note the connection's
// addresses and hand the phases to the loop. The hooks run on net/http's
// goroutines.
func (x *exchange) trace(ctx context.Context) context.Context {
	post := func(ph PhaseReport) {
		if x.ev.phase == nil {
			return
		}
		ph.Elapsed = time.Since(x.start)
		x.r.CallFromGoroutine(func() {
			if x.stage == stageHeaders {
				x.ev.phase(ph)
			}
		})
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart: func(i httptrace.DNSStartInfo) { post(PhaseReport{Phase: PhaseDNSStart, Addr: i.Host}) },
		DNSDone: func(i httptrace.DNSDoneInfo) {
			addrs := make([]string, len(i.Addrs))
			for k, a := range i.Addrs {
				addrs[k] = a.String()
			}
			post(PhaseReport{Phase: PhaseDNSDone, Addr: strings.Join(addrs, ","), Err: i.Err})
		},
		ConnectStart: func(_, addr string) { post(PhaseReport{Phase: PhaseConnectStart, Addr: addr}) },
		ConnectDone: func(_, addr string, err error) {
			post(PhaseReport{Phase: PhaseConnectDone, Addr: addr, Err: err})
		},
		TLSHandshakeStart: func() { post(PhaseReport{Phase: PhaseTLSStart}) },
		TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
			post(PhaseReport{Phase: PhaseTLSDone, Addr: cs.ServerName, Err: err})
		},
		GotConn: func(i httptrace.GotConnInfo) {
			var addr string
			if i.Conn != nil {
				local, remote := i.Conn.LocalAddr(), i.Conn.RemoteAddr()
				x.mu.Lock()
				x.local, x.remote = local, remote
				x.mu.Unlock()
				addr = remote.String()
			}
			post(PhaseReport{Phase: PhaseGotConn, Addr: addr, Reused: i.Reused})
		},
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			post(PhaseReport{Phase: PhaseWroteRequest, Err: i.Err})
		},
		GotFirstResponseByte: func() { post(PhaseReport{Phase: PhaseFirstByte}) },
	})
}
