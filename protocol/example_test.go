package protocol_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// upperServer answers each line with the line in capitals, and "quit"
// with "bye" and a close.
type upperServer struct{ t transport.Transport }

func (s *upperServer) ConnectionMade(t transport.Transport) { s.t = t }
func (s *upperServer) ConnectionLost(error)                 {}

func (s *upperServer) FrameReceived(line []byte) {
	if string(line) == "quit" {
		protocol.WriteLine(s.t, []byte("bye"))
		s.t.LoseConnection()
		return
	}
	protocol.WriteLine(s.t, bytes.ToUpper(line))
}

// lineClient sends its lines at once, prints each reply, and stops the
// reactor when the connection ends.
type lineClient struct {
	r    *reactor.Reactor
	send string
}

func (c *lineClient) ConnectionMade(t transport.Transport) { t.Write([]byte(c.send)) }
func (c *lineClient) FrameReceived(line []byte)            { fmt.Printf("%s\n", line) }

func (c *lineClient) ConnectionLost(err error) {
	fmt.Println("closed:", err)
	c.r.Stop()
}

// A line client and a line server on loopback TCP. The client's lines
// end in "\r\n" or "\n": the default configuration takes both.
func Example_lineClient() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	l, err := transport.ListenTCP(r, "127.0.0.1:0", func(net.Addr) transport.Protocol {
		return protocol.NewLineReceiver(protocol.LineConfig{}, &upperServer{})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	client := &lineClient{r: r, send: "hello\r\nline client\nquit\n"}
	transport.DialTCP(r, l.Addr().String(), protocol.NewLineReceiver(protocol.LineConfig{}, client))
	r.Run(context.Background())
	// Output:
	// HELLO
	// LINE CLIENT
	// bye
	// closed: <nil>
}

// A decoder needs no connection: it takes bytes however they were split,
// here a delimiter cut in two, and holds the unfinished line.
func ExampleLineDecoder() {
	d := protocol.NewLineDecoder(protocol.LineConfig{Delimiter: "\r\n"}, func(line []byte) {
		fmt.Printf("%q\n", line)
	})
	d.Feed([]byte("first\r"))
	d.Feed([]byte("\nsecond\r\nthi"))
	d.Feed([]byte("rd\r\nunfinished"))
	fmt.Println(d.End())
	// Output:
	// "first"
	// "second"
	// "third"
	// protocol: line at byte 22: the stream ended 10 bytes into it
}

// With OverflowSkip a line over the maximum is dropped, and decoding goes
// on.
func ExampleOverflow() {
	cfg := protocol.LineConfig{
		MaxLength: 8,
		Overflow:  protocol.OverflowSkip,
		OnSkip:    func(n int64) { fmt.Println("skipped", n, "bytes") },
	}
	d := protocol.NewLineDecoder(cfg, func(line []byte) { fmt.Printf("%s\n", line) })
	err := d.Feed([]byte("short\nmuch too long for it\nagain\n"))
	fmt.Println(err)
	// Output:
	// short
	// skipped 20 bytes
	// again
	// <nil>
}

// A netstring's malformed length stops the decoder with an error that
// says what is wrong and where.
func ExampleNetstringDecoder() {
	d := protocol.NewNetstringDecoder(protocol.NetstringConfig{}, func(p []byte) {
		fmt.Printf("%q\n", p)
	})
	var stream []byte
	stream, _ = protocol.NetstringConfig{}.Append(stream, []byte("hello, world!"))
	stream = append(stream, "0:,007:bond,"...)
	fmt.Println(d.Feed(stream))
	// Output:
	// "hello, world!"
	// ""
	// protocol: netstring at byte 20: the length has a leading zero
}

// Frames with a 2-byte little-endian prefix; a prefix over the maximum is
// refused before anything is allocated for it.
func ExampleFrameDecoder() {
	cfg := protocol.FrameConfig{PrefixSize: 2, Order: binary.LittleEndian, MaxLength: 100}
	d := protocol.NewFrameDecoder(cfg, func(f []byte) { fmt.Printf("%q\n", f) })
	stream, _ := cfg.Append(nil, []byte("ping"))
	stream, _ = cfg.Append(stream, nil)
	stream = append(stream, 0xff, 0xff)
	fmt.Println(d.Feed(stream))
	// Output:
	// "ping"
	// ""
	// protocol: frame at byte 8: length 65535 is over the maximum of 100 bytes
}

// sumServer answers each frame of numbers, one a line, with a frame
// holding their sum, and the empty frame with a close.
type sumServer struct{ t transport.Transport }

func (s *sumServer) ConnectionMade(t transport.Transport) { s.t = t }
func (s *sumServer) ConnectionLost(error)                 {}

func (s *sumServer) FrameReceived(frame []byte) {
	if len(frame) == 0 {
		s.t.LoseConnection()
		return
	}
	sum := 0
	for _, f := range strings.Fields(string(frame)) {
		n, _ := strconv.Atoi(f)
		sum += n
	}
	protocol.WriteFrame(s.t, []byte(strconv.Itoa(sum)))
}

// A coroutine that sends requests and reads their length-prefixed
// replies top to bottom, on a transport.Stream: ReadFrame reads the
// prefix, then the payload.
func ExampleReadFrame() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	l, err := transport.ListenTCP(r, "127.0.0.1:0", func(net.Addr) transport.Protocol {
		return protocol.NewFrameReceiver(protocol.FrameConfig{}, &sumServer{})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	client := deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", l.Addr().String()))
		if err != nil {
			return struct{}{}, err
		}
		defer s.Close()
		for _, numbers := range []string{"1 2 3", "40 2", "1000000 -1"} {
			protocol.WriteFrame(s.Transport(), []byte(numbers))
			sum, err := deferred.Await(co, protocol.ReadFrame(s))
			if err != nil {
				return struct{}{}, err
			}
			fmt.Printf("%s: %s\n", numbers, sum)
		}
		protocol.WriteFrame(s.Transport(), nil) // the server closes
		_, err = deferred.Await(co, protocol.ReadFrame(s))
		fmt.Println("then:", err)
		return struct{}{}, nil
	})
	client.OnValue(func(struct{}) { r.Stop() })
	client.OnError(func(err error) { fmt.Println("client:", err); r.Stop() })

	r.Run(context.Background())
	// Output:
	// 1 2 3: 6
	// 40 2: 42
	// 1000000 -1: 999999
	// then: EOF
}
