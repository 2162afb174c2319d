// Command netecho is the Go net peer of loom's bench/echo: a TCP echo
// server on 127.0.0.1:PORT with a goroutine per connection, each reading
// into a 4 KiB buffer of its own and writing back what it read (package
// net sets TCP_NODELAY by default). It prints READY once listening.
//
//	netecho PORT
package main

import (
	"log"
	"net"

	"github.com/loomkit/loom/bench/peers/internal/peer"
)

func main() {
	addr := peer.Setup("netecho")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	peer.Ready()
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		go serve(c)
	}
}

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
