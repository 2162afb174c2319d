"""Twisted's peers of loom's bench/echo: a TCP echo server on 127.0.0.1:PORT.

    python3 bench/twisted_echo.py epoll|gi PORT

epoll is Twisted's epoll reactor; gi is its GI reactor (gireactor,
useGtk=False: GLib's main loop with one watch per descriptor, as inside a
GTK program). TCP_NODELAY is set on every connection. Prints READY once
listening; SIGINT and SIGTERM exit with status 0. The soft limit of open
descriptors is raised to the hard limit. Run by scripts/bench (through
bench/load) with Debian's python3-twisted and python3-gi; nothing here is
loom's code.
"""
import os
import resource
import signal
import sys


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("epoll", "gi"):
        sys.exit("usage: twisted_echo.py epoll|gi PORT")
    kind, port = sys.argv[1], int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    if kind == "epoll":
        from twisted.internet import epollreactor
        epollreactor.install()
    else:
        from twisted.internet import gireactor
        gireactor.install(useGtk=False)
    from twisted.internet import protocol, reactor

    class Echo(protocol.Protocol):
        def connectionMade(self):
            self.transport.setTcpNoDelay(True)

        def dataReceived(self, data):
            self.transport.write(data)

    factory = protocol.Factory.forProtocol(Echo)
    reactor.listenTCP(port, factory, backlog=1024, interface="127.0.0.1")

    def ready():
        print("READY", flush=True)

    reactor.callWhenRunning(ready)
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: os._exit(0))
    reactor.run(installSignalHandlers=False)


if __name__ == "__main__":
    main()
