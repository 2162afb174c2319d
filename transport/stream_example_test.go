package transport_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// A dictionary server and a client, both coroutines on one reactor, each
// reading its side of the conversation top to bottom.
func ExampleStream() {
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	words := map[string][]string{
		"loom": {"a frame for weaving cloth", "to come into view, indistinct and threatening"},
	}
	// The server: a coroutine for each connection, answering commands
	// until the client quits.
	serve := func(s *transport.Stream) {
		deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
			defer s.Close()
			for {
				line, err := deferred.Await(co, s.ReadLine(1024))
				if err != nil {
					return struct{}{}, err // io.EOF: the client left
				}
				cmd, word, _ := strings.Cut(string(line), " ")
				switch cmd {
				case "DEFINE":
					defs := words[word]
					b := fmt.Appendf(nil, "150 %d definitions\r\n", len(defs))
					for _, d := range defs {
						b = fmt.Appendf(b, "%s\r\n", d)
					}
					s.Write(append(b, ".\r\n"...))
				case "QUIT":
					s.Write([]byte("221 bye\r\n"))
					return struct{}{}, nil
				default:
					s.Write(fmt.Appendf(nil, "500 what is %q?\r\n", cmd))
				}
			}
		})
	}
	l, err := transport.ListenTCP(r, "127.0.0.1:0", transport.StreamFactory(serve))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	// The client: one coroutine, one straight sequence of awaits.
	client := deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", l.Addr().String()))
		if err != nil {
			return struct{}{}, err
		}
		defer s.Close()
		s.Write([]byte("DEFINE loom\r\n"))
		status, err := deferred.Await(co, s.ReadLine(1024))
		if err != nil {
			return struct{}{}, err
		}
		fmt.Println(string(status))
		for {
			line, err := deferred.Await(co, s.ReadLine(1024))
			if err != nil {
				return struct{}{}, err
			}
			if string(line) == "." {
				break
			}
			fmt.Println("  " + string(line))
		}
		s.Write([]byte("QUIT\r\n"))
		bye, err := deferred.Await(co, s.ReadLine(1024))
		if err != nil {
			return struct{}{}, err
		}
		fmt.Println(string(bye))
		_, err = deferred.Await(co, s.ReadLine(1024))
		fmt.Println("then:", err) // the server closed
		return struct{}{}, nil
	})
	client.OnValue(func(struct{}) { r.Stop() })
	client.OnError(func(err error) { fmt.Println("client:", err); r.Stop() })

	r.Run(context.Background())
	// Output:
	// 150 2 definitions
	//   a frame for weaving cloth
	//   to come into view, indistinct and threatening
	// 221 bye
	// then: EOF
}
