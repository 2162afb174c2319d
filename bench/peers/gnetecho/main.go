// Command gnetecho is the gnet v2 peer of loom's bench/echo: a TCP echo
// server on 127.0.0.1:PORT with one event loop (the process is given one
// core), TCP_NODELAY on (gnet's default), writing back what each
// OnTraffic reads. It prints READY once gnet has booted.
//
//	gnetecho PORT
package main

import (
	"log"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/loomkit/loom/bench/peers/internal/peer"
)

type echo struct{ gnet.BuiltinEventEngine }

func (*echo) OnBoot(gnet.Engine) gnet.Action {
	peer.Ready()
	return gnet.None
}

func (*echo) OnTraffic(c gnet.Conn) gnet.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return gnet.None
}

func main() {
	addr := peer.Setup("gnetecho")
	err := gnet.Run(&echo{}, "tcp://"+addr,
		gnet.WithMulticore(false),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogLevel(logging.ErrorLevel))
	if err != nil {
		log.Fatal(err)
	}
}
