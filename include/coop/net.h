/*
 * coop/net.h — sockets, buffered streams and servers. Included by <coop.h>.
 *
 * Three layers, each usable alone:
 *   sockets  (coop_tcp_*, coop_udp_*, coop_unix_*, coop_sock_*): plain fds,
 *            nonblocking and close-on-exec, with calls that suspend the task
 *            instead of the thread. Close them with coop_close.
 *   streams  (coop_stream_*): asyncio's StreamReader/StreamWriter over one
 *            fd: lines, delimited records, exact reads and peeks with a
 *            bounded buffer; buffered writes with flush and back-pressure.
 *   servers  (coop_server_*): asyncio.start_server / trio.serve_tcp: one
 *            task per accepted connection inside a nursery, per-connection
 *            deadlines, graceful shutdown, and accept storms at the fd limit
 *            handled without spinning.
 *
 * Every call that may suspend is a [checkpoint]: it fails with -ECANCELED or
 * -ETIMEDOUT when its cancel scope is cancelled (deadlines are scopes with a
 * deadline). Every send uses MSG_NOSIGNAL: a reset peer is -EPIPE or
 * -ECONNRESET, never SIGPIPE.
 */
#ifndef COOP_NET_H
#define COOP_NET_H

#include <stdarg.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "dns.h" /* coop_dns_resolve: the resolver coop_tcp_connect uses */
#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Addresses
 * --------------------------------------------------------------------- */

/* Any socket address (IPv4, IPv6, Unix) with its length. */
typedef struct coop_sockaddr {
    struct sockaddr_storage ss; /* the address itself */
    socklen_t len;              /* its length in bytes */
} coop_sockaddr;

/* Parse a numeric host ("127.0.0.1", "::1", "[::1]", NULL or "" for the
 * IPv4 wildcard, "::" for the IPv6 wildcard) and a port into *out. Never
 * resolves a name. Errors: -EINVAL (not a numeric address, port outside
 * 0..65535). Does not suspend. [any thread] */
COOP_API int coop_sockaddr_parse(coop_sockaddr *out, const char *host, int port);

/* Format a as "1.2.3.4:80", "[::1]:80" or the Unix path into buf (always
 * NUL-terminated when size > 0). Returns the length it wanted (like
 * snprintf), or -EAFNOSUPPORT. [any thread] */
COOP_API int coop_sockaddr_format(const coop_sockaddr *a, char *buf, size_t size);

/* The local port a socket is bound to (after listening on port 0), or
 * -errno of getsockname (-EBADF, -ENOTSOCK), or -EAFNOSUPPORT for a
 * non-IP socket. [any thread] */
COOP_API int coop_sock_port(int fd);

/* ------------------------------------------------------------------------
 * Listening and connecting
 * --------------------------------------------------------------------- */

/* Options for coop_tcp_listen; zero-initialise and set what you need. */
typedef struct coop_listen_opts {
    int backlog;    /* listen(2) backlog; 0 = SOMAXCONN */
    int reuseport;  /* nonzero: SO_REUSEPORT (several loops/processes share
                       the port, the kernel balances connections) */
    int v6only;     /* nonzero: an IPv6 socket does not also take IPv4 */
} coop_listen_opts;

/* A listening TCP socket on a numeric host and port (see
 * coop_sockaddr_parse; port 0 = an ephemeral port, read it with
 * coop_sock_port). SO_REUSEADDR is always set. opts may be NULL.
 * Returns the fd or -errno: -EINVAL (bad address), -EADDRINUSE,
 * -EACCES, -EMFILE/-ENFILE, -ENOMEM. Does not suspend. [any thread] */
COOP_API int coop_tcp_listen(const char *host, int port, const coop_listen_opts *opts);

/* Connect a TCP socket to host:port and return it (TCP_NODELAY set).
 * A numeric host connects directly; "localhost" tries ::1 then 127.0.0.1;
 * any other name is resolved with coop_dns_resolve (coop/dns.h), and each
 * address is tried in turn until one connects (the error of the last one
 * is returned). Errors: -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH,
 * -ETIMEDOUT (the kernel gave up, or the caller's scope deadline passed,
 * which also bounds the lookup), -ECANCELED, -EINVAL (port out of range,
 * host NULL), the resolver's errors (-ENOENT: no such name, -ENODATA: no
 * address, -EAGAIN: temporary failure ... see coop/dns.h), -EMFILE,
 * -ENOMEM, -EPERM (not in a task). No fd is left open on failure.
 * [checkpoint] [task] */
COOP_API int coop_tcp_connect(const char *host, int port);

/* Connect a new stream socket (TCP or Unix, by a's family) to a.
 * Returns the fd, or the errors of coop_tcp_connect. [checkpoint] [task] */
COOP_API int coop_sock_connect(const coop_sockaddr *a);

/* A listening Unix stream socket at path (an existing socket file there is
 * replaced; path starting with '@' = Linux abstract namespace). backlog 0 =
 * SOMAXCONN. Errors: -ENAMETOOLONG, -EADDRINUSE, -EACCES, -EMFILE ...
 * Does not suspend. [any thread] */
COOP_API int coop_unix_listen(const char *path, int backlog);

/* Connect to the Unix stream socket at path ('@' = abstract). Returns the
 * fd or -errno (-ENOENT, -ECONNREFUSED, -ENAMETOOLONG, -ECANCELED ...).
 * [checkpoint] [task] */
COOP_API int coop_unix_connect(const char *path);

/* Accept a connection on a listening socket: suspends until one arrives.
 * Returns a nonblocking, close-on-exec fd; *peer (may be NULL) receives the
 * peer's address. Errors: -EMFILE/-ENFILE (fd limit: see coop_server for a
 * loop that copes), -ECANCELED/-ETIMEDOUT, -EBADF, -EINVAL (not
 * listening), -ENOMEM, -EPERM. [checkpoint] [task] */
COOP_API int coop_sock_accept(int listen_fd, coop_sockaddr *peer);

/* ------------------------------------------------------------------------
 * Datagrams (UDP, Unix datagram)
 * --------------------------------------------------------------------- */

/* A UDP socket bound to a numeric host and port (port 0 = ephemeral; host
 * NULL = IPv4 wildcard). Returns the fd or -errno. [any thread] */
COOP_API int coop_udp_bind(const char *host, int port);

/* A Unix datagram socket bound to path (NULL: unbound; '@' = abstract).
 * Returns the fd or -errno. [any thread] */
COOP_API int coop_unix_dgram(const char *path);

/* Send one datagram to `to` (NULL: the connected peer). Returns the byte
 * count or -errno (-EMSGSIZE, -ECONNREFUSED from an earlier ICMP error,
 * -ECANCELED ...). [checkpoint] [task] */
COOP_API ssize_t coop_sock_sendto(int fd, const void *buf, size_t n, const coop_sockaddr *to);

/* Receive one datagram (a longer one is truncated to n bytes). *from may be
 * NULL. Returns the byte count or -errno. [checkpoint] [task] */
COOP_API ssize_t coop_sock_recvfrom(int fd, void *buf, size_t n, coop_sockaddr *from);

/* ------------------------------------------------------------------------
 * Stream socket I/O on plain fds
 * --------------------------------------------------------------------- */

/* Read up to n bytes; suspends until at least one byte (or end of file)
 * is there. Returns the count, 0 at end of file, or -errno
 * (-ECONNRESET, -ECANCELED/-ETIMEDOUT with nothing read, -EBADF ...).
 * [checkpoint] [task] */
COOP_API ssize_t coop_sock_read(int fd, void *buf, size_t n);

/* Write up to n bytes (send with MSG_NOSIGNAL); suspends until at least one
 * byte is accepted. Returns the count (maybe partial) or -errno (-EPIPE,
 * -ECONNRESET, -ECANCELED/-ETIMEDOUT with nothing written ...).
 * [checkpoint] [task] */
COOP_API ssize_t coop_sock_write(int fd, const void *buf, size_t n);

/* Read exactly n bytes. Returns n; or the short count k < n if the peer
 * closed after k bytes (0: closed before any); or -errno. *done (may be
 * NULL) always receives the bytes stored in buf, also on error or
 * cancellation, so the caller knows where the stream stands.
 * [checkpoint] [task] */
COOP_API ssize_t coop_sock_read_exact(int fd, void *buf, size_t n, size_t *done);

/* Write all n bytes. Returns 0 or -errno; *done (may be NULL) receives the
 * bytes written, also on error or cancellation. [checkpoint] [task] */
COOP_API int coop_sock_write_all(int fd, const void *buf, size_t n, size_t *done);

/* Send count bytes of file `file` from *offset with sendfile(2), advancing
 * *offset (offset NULL: from the file's position). Stops early at the end
 * of the file. Returns the bytes sent (also when cancelled or failed after
 * some were sent: *offset says where it stopped) or -errno if none was.
 * [checkpoint] [task] */
COOP_API ssize_t coop_sock_sendfile(int sock, int file, off_t *offset, size_t count);

/* shutdown(2): how = SHUT_RD, SHUT_WR or SHUT_RDWR. Returns 0 or -errno.
 * Does not suspend. [any thread] */
COOP_API int coop_sock_shutdown(int fd, int how);

/* ------------------------------------------------------------------------
 * Buffered streams
 *
 * A stream buffers one fd (a socket, a pipe) in both directions. It does
 * not own the fd: free the stream, then coop_close the fd. One task reads
 * and one task flushes at a time (two at once is misuse and aborts); any
 * task may append with coop_stream_write/printf at any time, also while
 * another is suspended in a flush (a chat room's broadcast does).
 *
 * Reading: records are found in the read buffer, which never grows past
 * max_record bytes. Record calls (read_until, readline, read_exact, peek)
 * that cannot complete within that bound return -EMSGSIZE and leave the
 * stream as it was: every byte received stays buffered, readable with
 * coop_stream_read or droppable with coop_stream_consume. A cancelled read
 * consumes nothing. Pointers returned into the buffer stay valid until the
 * next call on the stream's reading side.
 *
 * Writing: coop_stream_write only appends to the write buffer (no syscall,
 * no suspension); coop_stream_flush sends it all; coop_stream_drain applies
 * back-pressure in a producer loop (when more than high_water bytes wait,
 * it sends until no more than low_water wait). A write error is sticky:
 * later flushes and writes return it.
 * --------------------------------------------------------------------- */

typedef struct coop_stream coop_stream;

typedef struct coop_stream_opts {
    size_t max_record; /* largest record/line/exact read, in bytes;
                          0 = 64 KiB */
    size_t high_water; /* drain sends when more than this waits; 0 = 64 KiB */
    size_t low_water;  /* ... until no more than this waits; 0 = 16 KiB,
                          must be <= high_water */
} coop_stream_opts;

/* Make a stream over fd (opts may be NULL). Errors: -ENOMEM, -EINVAL (fd <
 * 0, low_water > high_water). Does not suspend. [any thread] */
COOP_API int coop_stream_new(coop_stream **out, int fd, const coop_stream_opts *opts);

/* Free the stream's buffers (unflushed output is dropped: flush first).
 * Does not close the fd. Freeing a stream that a task is using is misuse.
 * NULL is ignored. [loop] */
COOP_API void coop_stream_free(coop_stream *s);

/* The stream's fd. */
COOP_API int coop_stream_fd(const coop_stream *s);

/* Read up to n bytes: from the buffer if it holds any, else from the fd
 * (one read). Returns the count, 0 at end of file, or -errno.
 * [checkpoint] [task] */
COOP_API ssize_t coop_stream_read(coop_stream *s, void *buf, size_t n);

/* Read the next record ending with delim (dlen bytes, >= 1) and consume it.
 * *rec points at the record inside the stream's buffer, delimiter included;
 * returns its length. Returns 0 at end of file with nothing buffered;
 * -ENODATA at end of file with a partial record buffered (it stays
 * readable); -EMSGSIZE if no delimiter within max_record bytes; -errno of
 * the read; -EINVAL (dlen 0). [checkpoint] [task] */
COOP_API ssize_t coop_stream_read_until(coop_stream *s, const void *delim, size_t dlen,
                                        const char **rec);

/* Read one line ending in "\n" (included), like coop_stream_read_until,
 * except that at end of file a last line without "\n" is returned as it
 * is (asyncio's readline). [checkpoint] [task] */
COOP_API ssize_t coop_stream_readline(coop_stream *s, const char **line);

/* Read exactly n bytes into buf and consume them. Returns n; 0 at end of
 * file with nothing buffered; -ENODATA at end of file with fewer than n
 * bytes (they stay readable); -EMSGSIZE if n > max_record; -errno.
 * Cancelled, it consumes nothing. [checkpoint] [task] */
COOP_API ssize_t coop_stream_read_exact(coop_stream *s, void *buf, size_t n);

/* Wait until at least n bytes are buffered (n 0: return what is buffered
 * without reading) and point *p at them without consuming. Returns the
 * buffered count (>= n), or a count < n at end of file, or -EMSGSIZE (n >
 * max_record), or -errno. [checkpoint] [task] */
COOP_API ssize_t coop_stream_peek(coop_stream *s, size_t n, const char **p);

/* Drop n buffered bytes (n is clamped to what is buffered). Returns the
 * bytes dropped. Does not suspend. [loop] */
COOP_API size_t coop_stream_consume(coop_stream *s, size_t n);

/* Bytes in the read buffer: > 0 means a record call may complete without
 * reading (e.g. pipelined requests; flush replies only when it is 0).
 * Does not suspend. [loop] */
COOP_API size_t coop_stream_buffered(const coop_stream *s);

/* Append n bytes to the write buffer. Returns 0, -ENOMEM, or the sticky
 * error of an earlier failed flush. Never suspends. [loop] */
COOP_API int coop_stream_write(coop_stream *s, const void *buf, size_t n);

/* printf into the write buffer. Returns the byte count or -ENOMEM/-EINVAL
 * or the sticky error. Never suspends. [loop] */
COOP_API int coop_stream_printf(coop_stream *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bytes waiting in the write buffer. [loop] */
COOP_API size_t coop_stream_pending(const coop_stream *s);

/* Send every buffered byte. Returns 0 or -errno (-EPIPE, -ECONNRESET ...:
 * sticky; -ECANCELED/-ETIMEDOUT: what was not sent stays buffered, and a
 * later flush goes on from there). [checkpoint] [task] */
COOP_API int coop_stream_flush(coop_stream *s);

/* Back-pressure: if more than high_water bytes wait, send until no more
 * than low_water do; else only a checkpoint. Errors as flush.
 * [checkpoint] [task] */
COOP_API int coop_stream_drain(coop_stream *s);

/* ------------------------------------------------------------------------
 * Servers
 * --------------------------------------------------------------------- */

/* A connection handler: runs in its own task for each accepted connection.
 * It must not close fd (the server does, after it returns). Its result is
 * counted (failures in coop_server_stats) but never stops the server. */
typedef int (*coop_conn_fn)(int fd, void *arg);

typedef struct coop_server_opts {
    int64_t conn_timeout;  /* per-connection deadline, relative ns: the
                              handler's checkpoints fail with -ETIMEDOUT
                              after it; 0 = none */
    size_t max_conns;      /* connections served at once; when reached the
                              server stops accepting until one ends; 0 =
                              unlimited */
    size_t stack_size;     /* handler task stack; 0 = the loop default */
    int nodelay;           /* nonzero: TCP_NODELAY on each connection */
} coop_server_opts;

typedef struct coop_server_stats {
    uint64_t accepted; /* connections accepted and handed to a handler */
    uint64_t active;   /* handlers running now */
    uint64_t failed;   /* handlers that returned < 0 (cancellation by
                          shutdown or the connection deadline included) */
    uint64_t shed;     /* connections accepted and closed at once because
                          the process was out of fds (EMFILE/ENFILE) */
} coop_server_stats;

typedef struct coop_server coop_server;

/* A server over listen_fd (a listening socket, still owned by the caller)
 * calling fn(conn_fd, arg) per connection. opts may be NULL. Keeps one
 * spare fd (/dev/null) for the fd-limit strategy of coop_server_serve.
 * Errors: -ENOMEM, -EINVAL (fn NULL, listen_fd < 0), -EMFILE.
 * Does not suspend. [loop] */
COOP_API int coop_server_new(coop_server **out, int listen_fd, coop_conn_fn fn, void *arg,
                             const coop_server_opts *opts);

/* Accept connections and run a handler task for each, in a nursery owned
 * by this call, until coop_server_shutdown or cancellation of the caller.
 * At the fd limit (EMFILE/ENFILE) the server closes its spare fd, accepts
 * the pending connection and closes it at once (the client sees a clean
 * close instead of waiting in the backlog), reopens the spare, and pauses
 * accepting for 10 ms if it still cannot: the loop never spins.
 * Returns 0 after a shutdown (every handler has finished or was
 * cancelled); -ECANCELED/-ETIMEDOUT if the caller's scope was cancelled
 * (handlers are cancelled and awaited first); -EBADF/-EINVAL/-ENOTSOCK
 * for a bad listening socket; -EBUSY if already serving. [checkpoint]
 * [task] */
COOP_API int coop_server_serve(coop_server *srv);

/* Graceful shutdown: stop accepting now, give running handlers until
 * grace_ns from now to finish, then cancel them (their checkpoints fail
 * with -ECANCELED). Idempotent (a later call can only shorten the grace).
 * Callable from any task or callback of the server's loop, before or
 * during serve. Does not suspend. [loop] */
COOP_API void coop_server_shutdown(coop_server *srv, int64_t grace_ns);

/* Counters of the server. [loop] */
COOP_API void coop_server_stats_get(const coop_server *srv, coop_server_stats *out);

/* Free a server that is not serving (misuse otherwise). Does not close the
 * listening fd. NULL is ignored. [loop] */
COOP_API void coop_server_free(coop_server *srv);

#ifdef __cplusplus
}
#endif
#endif
