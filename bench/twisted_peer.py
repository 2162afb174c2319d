"""Twisted's numbers for the benchmarks loom's reactor runs (reactor/bench_test.go).

Prints one line per benchmark, as `name ns_per_op`. Run by scripts/bench with
Debian's python3-twisted; nothing here is loom's code.
"""
import os
import sys
import threading
import time


def timer_schedule_cancel(reactor, n=200000):
    f = lambda: None
    t0 = time.perf_counter_ns()
    for _ in range(n):
        reactor.callLater(3600, f).cancel()
    return (time.perf_counter_ns() - t0) / n


def call_from_thread_round_trip(reactor, n=20000):
    done = threading.Event()
    answer = done.set
    result = {}

    def worker():
        t0 = time.perf_counter_ns()
        for _ in range(n):
            reactor.callFromThread(answer)
            done.wait()
            done.clear()
        result["ns"] = (time.perf_counter_ns() - t0) / n
        reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(lambda: threading.Thread(target=worker).start())
    reactor.run(installSignalHandlers=False)
    return result["ns"]


class Reader:
    """A readable pipe end whose data is never drained (level-triggered)."""

    def __init__(self, fd):
        self.fd = fd
        self.calls = 0

    def fileno(self):
        return self.fd

    def doRead(self):
        self.calls += 1

    def logPrefix(self):
        return "Reader"

    def connectionLost(self, reason):
        pass


def dispatch(reactor, nfds, passes):
    ready = None
    fds = []
    for i in range(nfds):
        if i == 0:
            r, w = os.pipe()
            os.write(w, b"x")
            fds += [r, w]
            ready = Reader(r)
            reactor.addReader(ready)
        else:
            efd = os.eventfd(0, os.EFD_NONBLOCK)
            fds.append(efd)
            reactor.addReader(Reader(efd))
    reactor.iterate(0)
    t0 = time.perf_counter_ns()
    for _ in range(passes):
        reactor.doIteration(0)
    ns = (time.perf_counter_ns() - t0) / passes
    reactor.removeAll()
    for fd in fds:
        os.close(fd)
    assert ready.calls >= passes
    return ns


def gi_iteration(nfds, iterations):
    """GLib's per-iteration cost with nfds idle readers on Twisted's GI
    reactor, which gives GLib one watch per descriptor."""
    from gi.repository import GLib
    from twisted.internet import gireactor

    reactor = gireactor.GIReactor(useGtk=False)
    fds = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(nfds)]
    for fd in fds:
        reactor.addReader(Reader(fd))
    ctx = GLib.MainContext.default()
    for _ in range(100):
        ctx.iteration(False)
    t0 = time.perf_counter_ns()
    for _ in range(iterations):
        ctx.iteration(False)
    ns = (time.perf_counter_ns() - t0) / iterations
    reactor.removeAll()
    for fd in fds:
        os.close(fd)
    return ns


def fresh(kind):
    # Each measurement gets a new reactor object, not the global one.
    if kind == "epoll":
        from twisted.internet.epollreactor import EPollReactor
        return EPollReactor()
    from twisted.internet.pollreactor import PollReactor
    return PollReactor()


def main():
    print("Timer/twisted.callLater+cancel", timer_schedule_cancel(fresh("epoll")))
    for kind in ("epoll", "poll"):
        for n, passes in ((1, 50000), (100, 20000), (10000, 200 if kind == "poll" else 20000)):
            print(f"Dispatch/twisted-{kind}/fds={n}", dispatch(fresh(kind), n, passes))
    print("CallFromGoroutine/twisted.callFromThread", call_from_thread_round_trip(fresh("epoll")))
    print("GLibIteration/twisted-gi/sockets=10", gi_iteration(10, 2000))
    print("GLibIteration/twisted-gi/sockets=10000", gi_iteration(10000, 200))


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
