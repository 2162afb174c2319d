package protocol

import (
	"fmt"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/transport"
)

// ReadFrame returns a promise for the payload of the next frame on s, in
// the default configuration, as FrameConfig's ReadFrame.
func ReadFrame(s *transport.Stream) *deferred.Promise[[]byte] { return defaultFrames.ReadFrame(s) }

// ReadFrame returns a promise for the payload of the next length-prefixed
// frame on s, for a coroutine that reads a conversation top to bottom:
// it reads the prefix, refuses a length over MaxLength (an error wrapping
// ErrFrameTooLong, the payload left unread), then reads the payload, which
// the caller owns. At the end of the stream it is rejected as s's
// ReadFull is: with io.EOF between two frames, with an
// *transport.IncompleteReadError inside one.
//
// Cancelling the promise cancels the read in progress; if the prefix was
// already read, the stream is left inside the frame, and the connection
// is best closed.
func (c FrameConfig) ReadFrame(s *transport.Stream) *deferred.Promise[[]byte] {
	size, order, max, err := c.resolved()
	if err != nil {
		return deferred.Rejected[[]byte](err)
	}
	p, res := deferred.NewPromise[[]byte]()
	read := s.ReadFull(size)
	res.OnCancel(func() { read.Cancel() })
	reject := func(err error) { res.Reject(err) }
	read.OnError(reject)
	read.OnValue(func(prefix []byte) {
		d := FrameDecoder{size: size, order: order}
		n := d.length(prefix)
		if n > uint64(max) {
			res.Reject(fmt.Errorf("protocol: frame length %d is over the maximum of %d bytes: %w", n, max, ErrFrameTooLong))
			return
		}
		read = s.ReadFull(int(n))
		read.OnError(reject)
		read.OnValue(func(payload []byte) { res.Resolve(payload) })
	})
	return p
}
