/*
 * echo is the C epoll peer of loom's bench/echo: a single-threaded TCP echo
 * server on 127.0.0.1:PORT over level-triggered epoll, the reference for
 * what one wakeup costs with nothing between the loop and the kernel. It
 * sets TCP_NODELAY on each accepted socket, accepts up to 32 connections
 * per wakeup, reads up to 64 KiB per ready event and writes it back; what
 * the kernel does not take at once waits in a per-connection buffer, the
 * connection then watched for EPOLLOUT instead of EPOLLIN until the buffer
 * is written, so no byte is lost and a slow reader slows its own sender.
 * It prints READY once listening, raises its soft limit of open
 * descriptors to the hard limit, and exits with 0 on SIGINT or SIGTERM.
 * scripts/bench builds it with cc -O2.
 *
 *	echo PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUFSIZE = 64 << 10, MAXEVENTS = 256, ACCEPTS = 32 };

struct conn {
	int fd;
	char *pend; /* bytes read but not yet written back */
	size_t off, len;
};

static int ep;
static char buf[BUFSIZE];

static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void drop(struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	free(c->pend);
	free(c);
}

static int watch(struct conn *c, int op, unsigned events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	return epoll_ctl(ep, op, c->fd, &ev);
}

/* flush writes the pending bytes; 0 when they are all written or wait
 * for EPOLLOUT, -1 when the connection is gone. */
static int flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->pend + c->off, c->len - c->off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return watch(c, EPOLL_CTL_MOD, EPOLLIN);
}

static void readable(struct conn *c)
{
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	ssize_t w = 0;
	while (w < n) {
		ssize_t k = write(c->fd, buf + w, (size_t)(n - w));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			drop(c);
			return;
		}
		w += k;
	}
	if (w == n)
		return;
	/* The kernel took part: keep the rest, read no more until it is
	 * written. */
	size_t rest = (size_t)(n - w);
	char *p = realloc(c->pend, rest);
	if (p == NULL) {
		drop(c);
		return;
	}
	memcpy(p, buf + w, rest);
	c->pend = p;
	c->off = 0;
	c->len = rest;
	if (watch(c, EPOLL_CTL_MOD, EPOLLOUT) < 0)
		drop(c);
}

static void accepting(int ln)
{
	for (int i = 0; i < ACCEPTS; i++) {
		int fd = accept4(ln, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or out of descriptors: try at the next wakeup */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if (watch(c, EPOLL_CTL_ADD, EPOLLIN) < 0)
			drop(c);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: echo PORT\n");
		return 2;
	}
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	struct sigaction sa = {.sa_handler = stop};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ln < 0 || bind(ln, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ln, 4096) < 0) {
		perror("echo: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ln, &lev) < 0) {
		perror("echo: epoll");
		return 1;
	}
	printf("READY\n");
	fflush(stdout);

	struct epoll_event evs[MAXEVENTS];
	for (;;) {
		int n = epoll_wait(ep, evs, MAXEVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("echo: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL)
				accepting(ln);
			else if (c->len > 0) {
				if (flush(c) < 0)
					drop(c);
			} else
				readable(c);
		}
	}
}
