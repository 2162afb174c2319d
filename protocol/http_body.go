package protocol

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/transport"
)

// BodyError is the error of a response body that broke off: the
// connection was reset or closed before the end, or a read failed. It
// says how many bytes arrived.
type BodyError struct {
	// Method and URL are the request's (the URL without a password).
	Method, URL string
	// Received is the number of bytes of the body that arrived.
	Received int64
	// Total is the number announced, or -1 if none was.
	Total int64
	// Err is net/http's error: a syscall.ECONNRESET, io.ErrUnexpectedEOF,
	// a timeout.
	Err error
}

func (e *BodyError) Error() string {
	if e.Total >= 0 {
		return fmt.Sprintf("protocol: %s %s: the body broke off after %d of %d bytes: %v", e.Method, e.URL, e.Received, e.Total, e.Err)
	}
	return fmt.Sprintf("protocol: %s %s: the body broke off after %d bytes: %v", e.Method, e.URL, e.Received, e.Err)
}

func (e *BodyError) Unwrap() error { return e.Err }

// Is makes a connection reset by the peer match transport.ErrReset, as
// the transports' errors do.
func (e *BodyError) Is(target error) bool {
	return target == transport.ErrReset && (errors.Is(e.Err, syscall.ECONNRESET) || errors.Is(e.Err, syscall.EPIPE))
}

func (x *exchange) bodyError(n, total int64, err error) error {
	if errors.Is(err, ErrBodyTooLarge) {
		return fmt.Errorf("%w: %s %s sent more than %d bytes", ErrBodyTooLarge, x.method, x.url, x.maxBody)
	}
	return &BodyError{Method: x.method, URL: x.url, Received: n, Total: total, Err: err}
}

// Bytes reads the body in full, on a goroutine, and returns a promise
// for it. The body is bounded by Client.MaxBodySize: one that announces
// more is refused at once, one that turns out longer fails when it
// passes the bound, both with an error wrapping ErrBodyTooLarge. One
// that breaks off fails with a *BodyError. The promise emits Download
// and deferred.Progress as the bytes arrive.
//
// Cancelling the promise stops the transfer at once: the request's
// context is cancelled and the body closed, which closes the
// connection. A body already taken gives a promise rejected with
// ErrBodyTaken.
func (resp *Response) Bytes() *deferred.Promise[[]byte] {
	p, res := deferred.NewPromise[[]byte]()
	cancel := resp.readAll(emitDownload(res), func(b []byte, err error) {
		if err != nil {
			res.Reject(err)
		} else {
			res.Resolve(b)
		}
	})
	res.OnCancel(cancel)
	return p
}

// readAll reads the body in full and calls done with it on the loop,
// unless cancel is called first.
func (resp *Response) readAll(progress func(Transfer), done func([]byte, error)) (cancel func()) {
	body, err := resp.take()
	if err != nil {
		done(nil, err)
		return func() {}
	}
	x := resp.x
	total := resp.ContentLength
	if x.maxBody >= 0 && total > x.maxBody {
		x.stage = stageDone
		x.finish(false)
		done(nil, fmt.Errorf("%w: %s %s announces %d bytes, over the bound of %d", ErrBodyTooLarge, x.method, x.url, total, x.maxBody))
		return func() {}
	}
	m := newMeter(x.r, x.interval, total, progress)
	settled := false
	x.abort = func(err error) {
		if !settled {
			settled = true
			m.stop()
			done(nil, err)
		}
	}
	go func() {
		b, err := readBody(body, total, x.maxBody, m)
		body.Close()
		x.r.CallFromGoroutine(func() {
			if settled {
				return
			}
			settled = true
			x.abort = nil
			x.stage = stageDone
			if err != nil {
				m.flush()
				x.finish(false)
				done(nil, x.bodyError(int64(len(b)), total, err))
				return
			}
			x.finish(true)
			m.finish(int64(len(b)))
			done(b, nil)
		})
	}()
	return func() {
		if !settled {
			settled = true
			x.abort = nil
			x.stage = stageDone
			m.stop()
			x.finish(false)
		}
	}
}

// readBody reads r to its end into one slice, sized from total when it
// is known; past limit (if limit >= 0) it stops with ErrBodyTooLarge.
func readBody(r io.Reader, total, limit int64, m *meter) ([]byte, error) {
	size := int64(32 << 10)
	if total >= 0 {
		// Room to read the end of file into, and not all at once for
		// a length announced beyond reason.
		size = min(total+1, maxPrealloc)
	}
	if limit >= 0 {
		size = min(size, limit+1)
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			grow := int64(cap(b)) // double: fewer copies of a big body
			if limit >= 0 {
				grow = min(grow, limit+1-int64(cap(b)))
			}
			b = slices.Grow(b, int(max(grow, 1)))
		}
		room := b[len(b):cap(b)]
		if limit >= 0 && int64(len(room)) > limit+1-int64(len(b)) {
			room = room[:limit+1-int64(len(b))]
		}
		n, err := r.Read(room)
		b = b[:len(b)+n]
		m.add(n)
		if limit >= 0 && int64(len(b)) > limit {
			return b[:limit], ErrBodyTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// maxPrealloc bounds the buffer Bytes allocates for the length a
// response announces, before any of it has arrived.
const maxPrealloc = 256<<20 + 1

// SaveTo writes the body to the file path, on a goroutine, and returns
// a promise for the number of bytes written. The bytes go to a
// temporary file in the same folder (".name.random.part"), which is
// synced to the disk and renamed to path, replacing what was there,
// once the body is complete; if the body breaks off (a *BodyError), a
// write fails, or the promise is cancelled, the temporary file is
// removed and path is left as it was, before the promise settles. The
// promise emits Download and deferred.Progress as the bytes arrive.
// Cancelling it stops the transfer as for Bytes. A body already taken
// gives a promise rejected with ErrBodyTaken.
func (resp *Response) SaveTo(path string) *deferred.Promise[int64] {
	p, res := deferred.NewPromise[int64]()
	cancel := resp.save(path, emitDownload(res), func(n int64, err error) {
		if err != nil {
			res.Reject(err)
		} else {
			res.Resolve(n)
		}
	})
	res.OnCancel(cancel)
	return p
}

func (resp *Response) save(path string, progress func(Transfer), done func(int64, error)) (cancel func()) {
	body, err := resp.take()
	if err != nil {
		done(0, err)
		return func() {}
	}
	x := resp.x
	f, tmp, err := createPart(path)
	if err != nil {
		x.stage = stageDone
		x.finish(false)
		done(0, fmt.Errorf("protocol: saving %s %s: %w", x.method, x.url, err))
		return func() {}
	}
	total := resp.ContentLength
	m := newMeter(x.r, x.interval, total, progress)
	settled := false
	end := func() {
		settled = true
		x.abort = nil
		x.stage = stageDone
		os.Remove(tmp) // a goroutine still writing writes to the unlinked file
	}
	x.abort = func(err error) {
		if !settled {
			end()
			m.stop()
			done(0, err)
		}
	}
	go func() {
		n, rerr, werr := copyBody(f, body, m)
		body.Close()
		if rerr == nil && werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		x.r.CallFromGoroutine(func() {
			if settled {
				return
			}
			switch {
			case rerr != nil:
				end()
				m.flush()
				x.finish(false)
				done(n, x.bodyError(n, total, rerr))
			case werr != nil:
				end()
				m.flush()
				x.finish(false)
				done(n, fmt.Errorf("protocol: saving %s %s: %w", x.method, x.url, werr))
			default:
				settled = true
				x.abort = nil
				x.stage = stageDone
				x.finish(true)
				if err := os.Rename(tmp, path); err != nil {
					os.Remove(tmp)
					m.flush()
					done(n, fmt.Errorf("protocol: saving %s %s: %w", x.method, x.url, err))
					return
				}
				m.finish(n)
				done(n, nil)
			}
		})
	}()
	return func() {
		if !settled {
			end()
			m.stop()
			x.finish(false)
		}
	}
}

// createPart creates the temporary file for path, in path's folder.
func createPart(path string) (*os.File, string, error) {
	dir, base := filepath.Split(path)
	if base == "" || base == "." || base == ".." {
		return nil, "", fmt.Errorf("%q does not name a file", path)
	}
	for range 1000 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64()>>1, 36)+".part")
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no free temporary name next to %s", path)
}

// copyBody copies r to w, counting, and tells a read error from a
// write error.
func copyBody(w io.Writer, r io.Reader, m *meter) (n int64, rerr, werr error) {
	buf := make([]byte, 64<<10)
	for {
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr = w.Write(buf[:k]); werr != nil {
				return n, nil, werr
			}
			n += int64(k)
			m.add(k)
		}
		if err == io.EOF {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
	}
}
