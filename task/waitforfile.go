package task

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// WaitForFile returns a Deferred that fires with path once a file (or
// directory) exists there. It checks with os.Stat at once, before
// returning (so the Deferred may already have fired), then every interval
// on r's clock, with a LoopingCall.
//
// The Deferred fails with Stat's error if Stat fails for any other reason
// than the file not existing (permission denied, a path component that is
// not a directory), and with ErrNegativeInterval for a negative interval.
// Cancelling it stops the polling, and it fails with
// deferred.ErrCancelled. The reactor's Close stops the polling too, and
// the Deferred fails with an error wrapping reactor.ErrClosed (at once,
// without a check, if r is closed already). A nil r or an empty path
// (where no file can ever be) gives a Deferred that has failed with an
// error saying so. Loop goroutine.
func WaitForFile(r *reactor.Reactor, path string, interval time.Duration) *deferred.Deferred {
	switch {
	case r == nil:
		return deferred.Fail(misuse("WaitForFile given a nil reactor"))
	case path == "":
		return deferred.Fail(errors.New("task: WaitForFile given an empty path"))
	case r.Closed():
		return deferred.Fail(onClosed("WaitForFile"))
	}
	var lc *LoopingCall
	found := false
	d := deferred.NewWithCanceller(func(*deferred.Deferred) {
		if lc.Running() {
			lc.Stop()
		}
	})
	lc = NewLoopingCall(r, func() any {
		_, err := os.Stat(path)
		switch {
		case err == nil:
			found = true
			lc.Stop()
			return nil
		case errors.Is(err, fs.ErrNotExist):
			return nil
		}
		return err
	})
	lc.Start(interval, true).AddCallbacks(func(any) any {
		// The loop stops when the file is found or when d is cancelled;
		// only the first gives d its result.
		if found {
			d.Callback(path)
		}
		return nil
	}, func(err error) any {
		if errors.Is(err, reactor.ErrClosed) {
			err = endedByClose(fmt.Sprintf("WaitForFile %q", path))
		}
		d.Errback(err)
		return nil
	})
	return d
}

// WaitForFilePromise is WaitForFile as a typed promise: it is fulfilled
// with path once a file exists there, and rejected as WaitForFile's
// Deferred fails. Cancelling the promise stops the polling and rejects it
// with deferred.ErrCancelled. Loop goroutine.
func WaitForFilePromise(r *reactor.Reactor, path string, interval time.Duration) *deferred.Promise[string] {
	return deferred.FromDeferred[string](WaitForFile(r, path, interval))
}
