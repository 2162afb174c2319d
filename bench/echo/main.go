// Command echo is loom's TCP echo server for scripts/bench: it listens on
// 127.0.0.1:PORT with transport.ListenTCP (TCP_NODELAY on), prints a line
// READY once the loop runs and listens, and writes back every byte it reads
// until SIGINT or SIGTERM, on which it exits with status 0.
//
//	go run ./bench/echo [-loop plain|gtk|fyne] PORT
//
// -loop picks what drives the reactor: reactor.Run (plain), GTK's main loop
// through guiloop/gtk, or a Fyne app through guiloop/fyne, each with a small
// window. The GUI loops need an X display: with DISPLAY unset, the command
// starts a private Xvfb (internal/xvfb) and stops it on exit.
//
// A line "heap" on standard input makes it collect garbage and answer with a
// line "HEAP inuse=… alloc=… stack=… sys=…" (runtime.MemStats, in bytes), for
// the load generator's heap per idle connection (bench/load). The command
// raises its soft limit of open descriptors to the hard limit.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
	"github.com/gotk3/gotk3/gtk"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/internal/xvfb"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// GTK's main loop and Fyne's GLFW driver run on the main OS thread.
func init() { runtime.LockOSThread() }

// echo writes back what it reads. DataReceived's bytes are valid only
// during the call; Write copies what the kernel does not take at once, so
// the echo allocates nothing per message.
type echo struct{ t transport.Transport }

func (e *echo) ConnectionMade(t transport.Transport) { e.t = t }
func (e *echo) DataReceived(b []byte)                { e.t.Write(b) }
func (e *echo) ConnectionLost(error)                 {}

func main() {
	loop := flag.String("loop", "plain", "what drives the reactor: plain, gtk or fyne")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file, stopped on exit")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: echo [-loop plain|gtk|fyne] [-cpuprofile file] PORT")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	addr := net.JoinHostPort("127.0.0.1", flag.Arg(0))
	switch *loop {
	case "plain", "gtk", "fyne":
	default:
		log.Fatalf("echo: unknown loop %q (plain, gtk or fyne)", *loop)
	}
	raiseNofile()

	stopX := func() {}
	if *loop != "plain" {
		var err error
		if stopX, err = xvfb.Ensure(); err != nil {
			log.Fatal("echo: ", err)
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal("echo: ", err)
		}
		pprof.StartCPUProfile(f)
	}
	exit := func() {
		pprof.StopCPUProfile()
		stopX()
		os.Exit(0)
	}

	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		log.Fatal("echo: ", err)
	}
	// The exit runs on the loop goroutine, so on the GUI thread: neither
	// GTK nor GLFW is reading the X connection when Xvfb goes.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		r.CallFromGoroutine(exit)
		time.Sleep(3 * time.Second) // a loop that does not answer
		pprof.StopCPUProfile()
		os.Exit(0)
	}()
	go answerHeap()

	listen := func() {
		_, err := transport.ListenTCP(r, addr, func(net.Addr) transport.Protocol { return &echo{} })
		if err != nil {
			log.Fatal("echo: ", err)
		}
		fmt.Println("READY")
	}
	// The listener starts from the loop's first pass, so READY also says
	// the loop runs.
	r.CallSoon(listen)

	switch *loop {
	case "plain":
		// Not on main's goroutine, which init functions (this one's,
		// GLFW's) lock to the main thread: a locked goroutine that parks
		// costs a thread hand-off (futexes) at each wakeup, and
		// reactor.Run needs no particular thread.
		done := make(chan error)
		go func() { done <- r.Run(context.Background()) }()
		err = <-done
	case "gtk":
		err = runGTK(r)
	case "fyne":
		err = runFyne(r)
	}
	if err != nil {
		log.Fatal("echo: ", err)
	}
	exit()
}

func runGTK(r *reactor.Reactor) error {
	if err := gtk.InitCheck(nil); err != nil {
		return err
	}
	win, err := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	if err != nil {
		return err
	}
	win.SetTitle("loom echo")
	win.SetDefaultSize(240, 80)
	label, err := gtk.LabelNew("loom echo (GTK)")
	if err != nil {
		return err
	}
	win.Add(label)
	win.Connect("destroy", r.Stop)
	win.ShowAll()
	return gtkloop.Run(r)
}

func runFyne(r *reactor.Reactor) error {
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		// What a desktop session gives an app; without it Fyne logs
		// complaints.
		if dir, err := os.MkdirTemp("", "loom-echo-xdg-"); err == nil {
			os.Setenv("XDG_RUNTIME_DIR", dir)
			defer os.RemoveAll(dir)
		}
	}
	a := app.NewWithID("io.loomkit.bench.echo")
	w := a.NewWindow("loom echo")
	w.SetContent(widget.NewLabel("loom echo (Fyne)"))
	w.Resize(fyne.NewSize(240, 80))
	p, err := fyneloop.Start(a, r)
	if err != nil {
		return err
	}
	w.ShowAndRun()
	return p.Stop()
}

// raiseNofile raises the soft limit of open descriptors to the hard limit:
// the load generator keeps 10,000 idle connections open.
func raiseNofile() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// answerHeap answers each line "heap" on standard input with the heap in
// use after a collection.
func answerHeap() {
	for s := bufio.NewScanner(os.Stdin); s.Scan(); {
		if strings.TrimSpace(s.Text()) != "heap" {
			continue
		}
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Printf("HEAP inuse=%d alloc=%d stack=%d sys=%d\n", m.HeapInuse, m.HeapAlloc, m.StackInuse, m.Sys)
	}
}
