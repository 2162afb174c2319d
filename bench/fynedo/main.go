// Command fynedo is the reference for a network event handled on Fyne's
// goroutine without loom: a Go net echo server (a goroutine per
// connection) whose every message is handed to Fyne's goroutine with
// fyne.Do, which writes it back. It is what a Fyne program pays per event
// when its widgets must see the data, and the floor for any loop merged
// into Fyne's: scripts/bench measures it beside loom inside Fyne.
//
//	go run ./bench/fynedo PORT
//
// It listens on 127.0.0.1:PORT (TCP_NODELAY on), shows a small window,
// prints READY, and exits with status 0 on SIGINT or SIGTERM. With
// DISPLAY unset it starts a private Xvfb (internal/xvfb).
package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/internal/xvfb"
)

// Fyne's GLFW driver runs on the main OS thread.
func init() { runtime.LockOSThread() }

// conn echoes on Fyne's goroutine: write is bound once, so a message
// allocates nothing.
type conn struct {
	c     net.Conn
	buf   []byte
	n     int
	done  chan struct{}
	write func()
}

func (c *conn) serve() {
	defer c.c.Close()
	for {
		n, err := c.c.Read(c.buf)
		if err != nil {
			return
		}
		c.n = n
		fyne.Do(c.write)
		<-c.done
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fynedo PORT")
		os.Exit(2)
	}
	stopX, err := xvfb.Ensure()
	if err != nil {
		log.Fatalf("fynedo: %v", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", os.Args[1]))
	if err != nil {
		log.Fatalf("fynedo: %v", err)
	}
	a := app.New()
	w := a.NewWindow("fynedo")
	w.SetContent(widget.NewLabel("echo through fyne.Do"))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// A benchmark peer needs no orderly teardown of GLFW: quitting
		// the app under load crashed in it once (exit 2, every
		// goroutine dumped), which failed a benchmark run.
		<-sig
		ln.Close()
		stopX()
		os.Exit(0)
	}()
	go func() {
		fmt.Println("READY")
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			nc.(*net.TCPConn).SetNoDelay(true)
			c := &conn{c: nc, buf: make([]byte, 64<<10), done: make(chan struct{}, 1)}
			c.write = func() { c.c.Write(c.buf[:c.n]); c.done <- struct{}{} }
			go c.serve()
		}
	}()
	w.ShowAndRun()
	ln.Close()
	stopX()
}
