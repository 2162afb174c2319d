// Package transport gives the reactor connections: TCP, Unix stream and
// UDP sockets, TLS, and any net.Conn, driven by the reactor's AddReader
// and AddWriter, with every callback on the reactor goroutine (so on the
// GUI thread when a GUI loop drives the reactor).
//
// It follows Twisted's split. A Protocol is the application's side of one
// connection: it hears ConnectionMade, DataReceived and ConnectionLost. A
// Transport is loom's side: Write (never blocks; it copies), Writev,
// LoseConnection (flush, then close), LoseWriteConnection (half-close),
// Abort (reset, dropping what is buffered), PauseReading and
// ResumeReading.
//
// # What connects
//
// ListenTCP, ListenUnix and Listen accept stream connections; DialTCP,
// DialUnix and Dial make them, returning a *deferred.Promise of the
// transport (the name resolved off the loop, addresses raced as Happy
// Eyeballs does, a timeout, Cancel). ListenTLS, DialTLS and StartTLS do
// the same over crypto/tls; FromNetConn puts any net.Conn behind the same
// interfaces; Pipe runs a protocol on a pipe's end (a child process's
// stdin or stdout) and Adopt on a socket made elsewhere.
//
// # Datagrams
//
// UDP sockets (ListenUDP, DialUDP) run a DatagramProtocol:
// DatagramReceived gets each datagram with its sender as a netip.AddrPort;
// ICMP refusals and datagrams larger than MaxDatagramSize reach
// ErrorReceived; sends the kernel does not take are queued within the
// write limits (ErrBufferFull past them).
//
// # Streams
//
// A Stream is a protocol for code that reads top to bottom: its reads
// (Read, ReadFull, ReadUntil, ReadLine) and Drain return promises that a
// coroutine started with deferred.Async awaits in turn, on the loop
// goroutine. DialStream dials one; StreamFactory serves them.
//
// # Flow control
//
// Every transport buffers what the kernel does not take at once, within
// bounds. When the buffer grows past the high water mark (64 KiB by
// default) a protocol that implements WriteFlow is told to PauseWriting;
// when it drains to the low water mark (16 KiB) it is told to
// ResumeWriting (asyncio's hysteresis). Past the hard cap (4 MiB) Write
// refuses the bytes with ErrBufferFull instead of growing: a peer that
// stops reading cannot make a transport hold unbounded memory. A proxy
// that pauses reading on one side while the other side's writes are
// paused carries back-pressure end to end. Bytes Write accepted are
// delivered, or ConnectionLost's error says how many were not
// (OpError.Unsent).
//
// # Errors
//
// ConnectionLost gets nil for a clean close (the peer's end of file, or
// LoseConnection once flushed) and otherwise an error that errors.Is
// classifies: ErrRefused, ErrReset, ErrTimeout, ErrUnreachable, ErrAborted
// (closed by this side with Abort), ErrClosed (the reactor closed), each
// also matching the errno it came from (syscall.ECONNRESET, ...).
//
// # Threads
//
// Every function and method here is for the reactor goroutine, like the
// reactor's own, except where a doc comment says otherwise.
package transport
