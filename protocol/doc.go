// Package protocol splits byte streams into messages: lines, netstrings
// and length-prefixed frames, with limits, on any transport or stream;
// and it fetches URLs.
//
// The HTTP client (Get, Do, Fetch, Client) is net/http bridged to the
// reactor: its promises resolve on the reactor goroutine when the headers
// arrive, and the body is read in full, streamed to a transport.Protocol
// with back-pressure, or saved to a file, with throttled progress events
// and a Cancel that stops the transfer at once. See Client.
//
// Each framing is two layers. A decoder (LineDecoder, NetstringDecoder,
// FrameDecoder) is a state machine over bytes with no reactor or
// transport of its own: feed it bytes as they arrive, split anywhere, and
// it calls a function once per frame, in order. A Receiver (made by
// NewLineReceiver, NewNetstringReceiver or NewFrameReceiver) is a
// transport.Protocol that drives a decoder on a connection and hands each
// frame to a Handler, which is transport.Protocol with FrameReceived in
// place of DataReceived:
//
//	type client struct{ t transport.Transport }
//
//	func (c *client) ConnectionMade(t transport.Transport) { c.t = t; protocol.WriteLine(t, []byte("PING")) }
//	func (c *client) FrameReceived(line []byte)            { fmt.Printf("%s\n", line) }
//	func (c *client) ConnectionLost(err error)             {}
//
//	transport.DialTCP(r, addr, protocol.NewLineReceiver(protocol.LineConfig{}, &client{}))
//
// WriteLine, WriteNetstring and WriteFrame, and the configurations' Write
// and Append methods, do the reverse. A coroutine that reads a
// transport.Stream top to bottom reads a length-prefixed frame with
// ReadFrame (and a line with the stream's own ReadLine).
//
// # Limits
//
// Every framing has a maximum: lines 16 KiB (DefaultMaxLineLength),
// netstrings and frames 1 MiB (DefaultMaxFrameLength). A decoder never
// holds much more than the maximum of a frame, and a peer that announces
// a long frame makes it hold no more than what it actually sent. A
// netstring whose length is over the maximum is refused at the digit
// that takes it over, a length prefix over it as soon as it is read;
// either stops the decoder with a *FrameError, and a Receiver closes the
// connection. A line too long does the same by default, or, with
// OverflowSkip, is dropped up to its delimiter and reported to
// LineConfig.OnSkip.
//
// # Cost
//
// Decoding is linear in the bytes received however they are split: each
// byte is searched for a delimiter once, a delimiter split between two
// reads is found from the partial match the first one ended with, and
// the bytes of a frame that spans reads are copied once into a buffer
// that is reused (Twisted's LineReceiver rescanned its buffer on each
// read, quadratic for a long line arriving in small pieces). A frame
// that lies within one read is handed over without a copy, which is why
// a frame is valid only during the call that delivers it. Once its
// buffer has grown, a decoder allocates nothing per frame, and neither
// do the sending helpers.
//
// # Pausing
//
// Pause stops a decoder's deliveries at once, even in the middle of the
// bytes being fed: called from a frame function, it makes that frame the
// last until Resume, and the rest is held. A Receiver pauses its decoder
// and its transport together, so the peer feels the back-pressure.
//
// # Threads
//
// Nothing here is safe for concurrent use. A Receiver, like the
// transport it runs on, is for the reactor goroutine.
package protocol
