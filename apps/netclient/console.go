package netclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/transport"
)

// ConnState is the console's connection state.
type ConnState uint8

const (
	// Disconnected: no connection, none made yet or closed by the user.
	Disconnected ConnState = iota
	// Connecting: a dial (and a TLS handshake) is under way.
	Connecting
	// Connected: lines can be sent.
	Connected
	// Closed: the server closed the connection.
	Closed
	// Failed: the dial failed or the connection broke (Err says how).
	Failed
)

var connStates = [...]string{"disconnected", "connecting", "connected", "closed", "failed"}

func (s ConnState) String() string { return connStates[s] }

// Dir tells the lines of the exchange apart.
type Dir uint8

const (
	// Note is the console's own remark: connected, closed, an error.
	Note Dir = iota
	// Sent is a line sent to the server.
	Sent
	// Received is a line from the server.
	Received
)

var dirs = [...]string{"note", "sent", "received"}

func (d Dir) String() string { return dirs[d] }

// Arrow is the direction's mark in the exchange: → sent, ← received.
func (d Dir) Arrow() string { return [...]string{"·", "→", "←"}[d] }

// Line is one line of the exchange.
type Line struct {
	// Seq numbers the lines from 1, in order, across clears.
	Seq  uint64
	At   time.Time
	Dir  Dir
	Text string
}

// MaxShownLine is the most bytes of a line the exchange keeps; a longer
// one is cut, and says how long it was.
const MaxShownLine = 1000

// ErrNotConnected is Send's error when there is no connection.
var ErrNotConnected = errors.New("not connected")

// received lines may be this long; longer ones are skipped and noted.
const maxReceived = 64 << 10

// sent lines end in CRLF, which every line-based server takes.
var sendConfig = protocol.LineConfig{Delimiter: "\r\n", MaxLength: 1 << 20}

type console struct {
	a          *App
	state      ConnState
	addr       string
	tls        bool
	tlsVersion string
	err        error
	dial       *deferred.Promise[transport.Transport]
	conn       *conn

	ring      []Line
	start, n  int
	nextSeq   uint64
	sentN     int
	receivedN int
}

func (c *console) init(a *App) {
	c.a = a
	c.addr, c.tls = a.cfg.Addr, a.cfg.TLS
	c.ring = make([]Line, a.cfg.MaxLines)
	c.nextSeq = 1
}

// conn is the handler of one connection's lines.
type conn struct {
	c      *console
	t      transport.Transport
	byUser bool
}

func (h *conn) ConnectionMade(t transport.Transport) {
	h.t = t
	c := h.c
	if c.conn != h {
		return
	}
	c.dial = nil // settled: what is left to end is the connection
	c.state, c.err = Connected, nil
	c.add(Note, "connected to "+c.where())
	c.a.changed()
}

func (h *conn) FrameReceived(line []byte) {
	c := h.c
	if c.conn != h {
		return
	}
	c.receivedN++
	c.add(Received, string(line))
	c.a.changed()
}

func (h *conn) ConnectionLost(err error) {
	c := h.c
	if c.conn != h {
		return
	}
	c.conn = nil
	switch {
	case h.byUser:
		c.state = Disconnected
		c.add(Note, "disconnected")
	case err == nil:
		c.state = Closed
		c.add(Note, "closed by the server")
	default:
		c.state, c.err = Failed, err
		c.add(Note, "connection lost: "+Describe(err))
	}
	c.a.changed()
}

// Connect connects the console to addr, over TLS if useTLS, closing the
// connection there was. Reactor goroutine.
func (a *App) Connect(addr string, useTLS bool) {
	c := &a.console
	c.drop()
	c.addr, c.tls = strings.TrimSpace(addr), useTLS
	c.state, c.err, c.tlsVersion = Connecting, nil, ""
	h := &conn{c: c}
	c.conn = h
	recv := protocol.NewLineReceiver(protocol.LineConfig{
		MaxLength: maxReceived,
		Overflow:  protocol.OverflowSkip,
		OnSkip: func(n int64) {
			if c.conn == h {
				c.add(Note, fmt.Sprintf("a line of %s skipped: over %s", Bytes(n), Bytes(maxReceived)))
				c.a.changed()
			}
		},
	}, h)
	c.add(Note, "connecting to "+c.where()+"…")
	timeout := transport.WithTimeout(a.cfg.DialTimeout)
	var p *deferred.Promise[transport.Transport]
	if useTLS {
		p = transport.DialTLS(a.r, c.addr, a.cfg.TLSConfig, recv, timeout)
	} else {
		p = transport.DialTCP(a.r, c.addr, recv, timeout)
	}
	c.dial = p
	p.OnValue(func(t transport.Transport) {
		// The handler's transport is the Receiver's; the TLS state is
		// the connection's own.
		if st, ok := transport.TLSConnectionState(t); ok && c.conn == h {
			c.tlsVersion = tls.VersionName(st.Version)
			a.changed()
		}
	})
	p.OnError(func(err error) {
		if c.dial != p {
			return
		}
		c.dial, c.conn = nil, nil
		if h.byUser {
			c.state = Disconnected
			c.add(Note, "connection attempt cancelled")
		} else {
			c.state, c.err = Failed, err
			c.add(Note, "could not connect: "+Describe(err))
		}
		c.a.changed()
	})
	a.changed()
}

// Reconnect connects again to the last address. Reactor goroutine.
func (a *App) Reconnect() { a.Connect(a.console.addr, a.console.tls) }

// Disconnect closes the connection once what was sent is flushed, or
// cancels the attempt under way. Reactor goroutine.
func (a *App) Disconnect() {
	c := &a.console
	switch {
	case c.dial != nil:
		c.conn.byUser = true
		c.dial.Cancel()
	case c.conn != nil && c.conn.t != nil:
		c.conn.byUser = true
		c.conn.t.LoseConnection()
	}
}

// drop ends the connection there is, quietly: a new one replaces it.
func (c *console) drop() {
	if c.dial != nil {
		p := c.dial
		c.dial, c.conn = nil, nil
		p.Cancel()
	}
	if h := c.conn; h != nil {
		c.conn = nil
		if h.t != nil {
			h.t.Abort()
		}
		c.add(Note, "disconnected from "+c.where())
	}
}

// Send sends text as a line (CRLF added). Reactor goroutine.
func (a *App) Send(text string) error {
	c := &a.console
	if c.state != Connected || c.conn == nil || c.conn.t == nil {
		c.add(Note, "not sent: not connected")
		a.changed()
		return ErrNotConnected
	}
	if err := sendConfig.Write(c.conn.t, []byte(text)); err != nil {
		if errors.Is(err, transport.ErrBufferFull) {
			c.add(Note, "not sent: the server is not reading what was sent")
		} else {
			c.add(Note, "not sent: "+Describe(err))
		}
		a.changed()
		return err
	}
	c.sentN++
	c.add(Sent, text)
	a.changed()
	return nil
}

// ClearExchange forgets the lines of the exchange. Reactor goroutine.
func (a *App) ClearExchange() {
	c := &a.console
	clear(c.ring)
	c.start, c.n = 0, 0
	a.changed()
}

// LineCount is how many lines of the exchange are kept.
func (a *App) LineCount() int { return a.console.n }

// Line returns the i-th line kept, from 0, the oldest.
func (a *App) Line(i int) Line {
	c := &a.console
	return c.ring[(c.start+i)%len(c.ring)]
}

// FirstSeq is the Seq of Line(0), or of the next line when none is kept:
// a view that shows lines by Seq drops those before it and adds those
// after the last it has.
func (a *App) FirstSeq() uint64 {
	c := &a.console
	if c.n == 0 {
		return c.nextSeq
	}
	return c.ring[c.start].Seq
}

func (c *console) add(d Dir, text string) {
	if len(text) > MaxShownLine {
		cut := MaxShownLine
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = fmt.Sprintf("%s… (%s in all)", text[:cut], Bytes(int64(len(text))))
	}
	l := Line{Seq: c.nextSeq, At: c.a.r.Now(), Dir: d, Text: text}
	c.nextSeq++
	if c.n < len(c.ring) {
		c.ring[(c.start+c.n)%len(c.ring)] = l
		c.n++
		return
	}
	c.ring[c.start] = l
	c.start = (c.start + 1) % len(c.ring)
}

func (c *console) where() string {
	if c.tls {
		return c.addr + " (TLS)"
	}
	return c.addr
}

func (c *console) close() {
	if c.dial != nil {
		c.dial.Cancel()
	}
	if c.conn != nil && c.conn.t != nil {
		c.conn.t.Abort()
	}
	c.dial, c.conn = nil, nil
}
