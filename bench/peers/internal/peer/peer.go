// Package peer is what the Go echo peers share with loom's bench/echo: the
// command line (PORT), the descriptor limit, the heap report and the exit
// on SIGINT or SIGTERM.
package peer

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

// Setup parses the command line, PORT and nothing else, and returns the
// address to listen on, 127.0.0.1:PORT. It raises the soft limit of open
// descriptors to the hard limit, answers each line "heap" on standard
// input with a line "HEAP inuse=… alloc=… stack=… sys=…" (runtime.MemStats
// after a collection, in bytes), and makes SIGINT and SIGTERM exit with
// status 0.
func Setup(name string) string {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s PORT\n", name)
		os.Exit(2)
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		os.Exit(0)
	}()
	go func() {
		for s := bufio.NewScanner(os.Stdin); s.Scan(); {
			if strings.TrimSpace(s.Text()) == "heap" {
				fmt.Println(Heap())
			}
		}
	}()
	return "127.0.0.1:" + os.Args[1]
}

// Heap collects garbage and describes the heap as the HEAP line.
func Heap() string {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return fmt.Sprintf("HEAP inuse=%d alloc=%d stack=%d sys=%d", m.HeapInuse, m.HeapAlloc, m.StackInuse, m.Sys)
}

// Ready says the server listens.
func Ready() { fmt.Println("READY") }
