package servers

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// Greeting is the first line the line server sends on each connection.
const Greeting = "loom line server: HELP lists the commands"

// MaxCount is the most lines one COUNT sends.
const MaxCount = 100000

// Help is the line server's answer to HELP, one line each.
var Help = []string{
	"HELP        this list",
	"TIME        the server's time",
	"ECHO text   text, as it came",
	"UPPER text  text in capitals",
	"REVERSE text  text backwards",
	"COUNT n     n numbered lines (at most 100000)",
	"STATS       connections served",
	"QUIT        says BYE and closes the connection",
	"RESET       resets the connection (TCP RST)",
}

// LineServer is a small line-based server on a loom reactor: it reads
// lines ending in "\n" or "\r\n" and answers each command with lines
// ending in "\r\n". Its callbacks run on the reactor goroutine.
type LineServer struct {
	r        *reactor.Reactor
	l        *transport.Listener
	now      func() time.Time
	sessions int
}

// ListenLine starts a line server on addr ("127.0.0.1:0" picks a port),
// plaintext, or over TLS when cfg is not nil. Reactor goroutine.
func ListenLine(r *reactor.Reactor, addr string, cfg *tls.Config) (*LineServer, error) {
	s := &LineServer{r: r, now: r.Now}
	factory := func(net.Addr) transport.Protocol {
		s.sessions++
		return protocol.NewLineReceiver(protocol.LineConfig{MaxLength: 64 << 10}, &session{s: s})
	}
	var err error
	if cfg != nil {
		s.l, err = transport.ListenTLS(r, addr, cfg, factory)
	} else {
		s.l, err = transport.ListenTCP(r, addr, factory)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the address the server listens on, as host:port.
func (s *LineServer) Addr() string { return s.l.Addr().String() }

// Close stops accepting connections; those open stay open. Reactor
// goroutine.
func (s *LineServer) Close() error { return s.l.Close() }

type session struct {
	s *LineServer
	t transport.Transport
}

var crlf = protocol.LineConfig{Delimiter: "\r\n", MaxLength: 64 << 10}

func (c *session) send(line string) { crlf.Write(c.t, []byte(line)) }

func (c *session) ConnectionMade(t transport.Transport) {
	c.t = t
	c.send(Greeting)
}

func (c *session) FrameReceived(frame []byte) {
	line := strings.TrimSpace(string(frame))
	if line == "" {
		return
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimLeft(arg, " ")
	switch strings.ToUpper(cmd) {
	case "HELP":
		for _, h := range Help {
			c.send(h)
		}
	case "TIME":
		c.send(c.s.now().Format(time.RFC3339))
	case "ECHO":
		c.send(arg)
	case "UPPER":
		c.send(strings.ToUpper(arg))
	case "REVERSE":
		rs := []rune(arg)
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		c.send(string(rs))
	case "COUNT":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 || n > MaxCount {
			c.send(fmt.Sprintf("ERR COUNT wants a number from 0 to %d", MaxCount))
			return
		}
		buf := make([]byte, 0, 16*n)
		for i := 1; i <= n; i++ {
			buf, _ = crlf.Append(buf, fmt.Appendf(nil, "%d", i))
		}
		c.t.Write(buf)
	case "STATS":
		c.send(fmt.Sprintf("%d connections served", c.s.sessions))
	case "QUIT":
		c.send("BYE")
		c.t.LoseConnection()
	case "RESET":
		c.t.Abort()
	default:
		c.send(fmt.Sprintf("ERR unknown command %q: HELP lists the commands", cmd))
	}
}

func (c *session) ConnectionLost(error) {}
