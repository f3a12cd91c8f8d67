/*
 * stream.c — tests of coop_stream: lines, delimited records across reads,
 * exact reads, peeks, the record limit (-EMSGSIZE with the data kept),
 * end-of-file cases, cancellation consuming nothing, buffered writes,
 * flush, drain's back-pressure, sticky write errors, misuse and -ENOMEM.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "child.h"
#include "util/alloc.h"

/* Both ends of a socketpair and a stream on end 0. */
typedef struct fixture {
    int sv[2];        /* sv[0] is streamed, the test writes/reads sv[1] */
    coop_stream *s;   /* the stream on sv[0] */
    const char *feed; /* what the feeder task writes, one byte per turn */
} fixture;

static void setup(fixture *f, const coop_stream_opts *o) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, f->sv) == 0);
    CHECK_OK(coop_stream_new(&f->s, f->sv[0], o));
}

static void teardown(fixture *f) {
    coop_stream_free(f->s);
    if (f->sv[0] >= 0) coop_close(f->sv[0]);
    if (f->sv[1] >= 0) coop_close(f->sv[1]);
}

/* Write f->feed one byte at a time with a sleep in between, then close:
 * every record arrives split across many reads. */
static int feeder(void *arg) {
    fixture *f = arg;
    for (const char *p = f->feed; *p; p++) {
        if (coop_sock_write(f->sv[1], p, 1) != 1) return -EIO;
        coop_sleep(COOP_MS(1));
    }
    coop_close(f->sv[1]);
    f->sv[1] = -1;
    return 0;
}

static int lines_body(void *arg) {
    (void)arg;
    fixture f;
    setup(&f, NULL);
    f.feed = "first\nsecond\r\n\nlast";
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "feeder", feeder, &f));
    const char *line;
    CHECK_EQ(coop_stream_readline(f.s, &line), 6);
    CHECK(memcmp(line, "first\n", 6) == 0);
    CHECK_EQ(coop_stream_readline(f.s, &line), 8);
    CHECK(memcmp(line, "second\r\n", 8) == 0);
    CHECK_EQ(coop_stream_readline(f.s, &line), 1);
    CHECK_EQ(coop_stream_readline(f.s, &line), 4); /* the last line, without "\n" */
    CHECK(memcmp(line, "last", 4) == 0);
    CHECK_EQ(coop_stream_readline(f.s, &line), 0); /* end of file */
    CHECK_OK(coop_join(t, NULL));
    teardown(&f);
    return 0;
}

TEST(stream_readline_splits_lines_across_reads) { CHECK_EQ(test_run(lines_body, NULL), 0); }

static int until_body(void *arg) {
    (void)arg;
    fixture f;
    setup(&f, NULL);
    f.feed = "a\r\nb\r\n\r\nrest\r\n";
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "feeder", feeder, &f));
    const char *rec;
    CHECK_EQ(coop_stream_read_until(f.s, "\r\n\r\n", 4, &rec), 8);
    CHECK(memcmp(rec, "a\r\nb\r\n\r\n", 8) == 0);
    CHECK_EQ(coop_stream_read_until(f.s, "\r\n\r\n", 4, &rec), -ENODATA); /* partial at EOF */
    CHECK_EQ(coop_stream_buffered(f.s), 6);                               /* ... kept */
    char buf[16];
    CHECK_EQ(coop_stream_read(f.s, buf, sizeof buf), 6);
    CHECK(memcmp(buf, "rest\r\n", 6) == 0);
    CHECK_EQ(coop_stream_read(f.s, buf, sizeof buf), 0);
    CHECK_ERR(coop_stream_read_until(f.s, "", 0, &rec), -EINVAL);
    CHECK_OK(coop_join(t, NULL));
    teardown(&f);
    return 0;
}

TEST(stream_read_until_finds_a_multibyte_delimiter_split_across_reads) {
    CHECK_EQ(test_run(until_body, NULL), 0);
}

static int limit_body(void *arg) {
    (void)arg;
    fixture f;
    coop_stream_opts o = {.max_record = 16};
    setup(&f, &o);
    CHECK_EQ(write(f.sv[1], "0123456789abcdefXYZ\nok\n", 23), 23);
    const char *line;
    CHECK_EQ(coop_stream_readline(f.s, &line), -EMSGSIZE); /* no "\n" in 16 bytes */
    CHECK_EQ(coop_stream_readline(f.s, &line), -EMSGSIZE); /* the state is unchanged */
    char buf[32];
    CHECK_EQ(coop_stream_peek(f.s, 4, &line), 23); /* the data is all still there */
    CHECK(memcmp(line, "0123", 4) == 0);
    CHECK_EQ(coop_stream_consume(f.s, 16), 16); /* the caller drops the long line */
    CHECK_EQ(coop_stream_readline(f.s, &line), 4);
    CHECK(memcmp(line, "XYZ\n", 4) == 0);
    CHECK_EQ(coop_stream_read_exact(f.s, buf, 17), -EMSGSIZE);
    CHECK_EQ(coop_stream_peek(f.s, 17, NULL), -EMSGSIZE);
    CHECK_EQ(coop_stream_read_exact(f.s, buf, 3), 3);
    CHECK(memcmp(buf, "ok\n", 3) == 0);
    teardown(&f);
    return 0;
}

TEST(stream_record_limit_is_emsgsize_and_keeps_the_data) { CHECK_EQ(test_run(limit_body, NULL), 0); }

static int exact_body(void *arg) {
    (void)arg;
    fixture f;
    setup(&f, NULL);
    f.feed = "12345678abc";
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "feeder", feeder, &f));
    char buf[8];
    const char *p;
    CHECK_EQ(coop_stream_peek(f.s, 2, &p), 2);
    CHECK(memcmp(p, "12", 2) == 0);
    CHECK_EQ(coop_stream_read_exact(f.s, buf, 8), 8); /* the peek consumed nothing */
    CHECK(memcmp(buf, "12345678", 8) == 0);
    CHECK_EQ(coop_stream_read_exact(f.s, buf, 8), -ENODATA); /* 3 bytes, then EOF */
    CHECK_EQ(coop_stream_read_exact(f.s, buf, 3), 3);
    CHECK_EQ(coop_stream_read_exact(f.s, buf, 3), 0);
    CHECK_OK(coop_join(t, NULL));
    teardown(&f);
    return 0;
}

TEST(stream_read_exact_and_peek) { CHECK_EQ(test_run(exact_body, NULL), 0); }

static int cancel_body(void *arg) {
    (void)arg;
    fixture f;
    setup(&f, NULL);
    CHECK_EQ(write(f.sv[1], "half a li", 9), 9);
    const char *line;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_SEC(2)));
    CHECK_ERR(coop_stream_readline(f.s, &line), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_EQ(write(f.sv[1], "ne\n", 3), 3);
    CHECK_EQ(coop_stream_readline(f.s, &line), 12); /* nothing was lost */
    CHECK(memcmp(line, "half a line\n", 12) == 0);
    teardown(&f);
    return 0;
}

TEST(stream_cancelled_readline_consumes_nothing) { CHECK_EQ(test_run(cancel_body, NULL), 0); }

static int collect(void *arg) {
    fixture *f = arg;
    char buf[8192]; /* task stacks are 64 KiB (less under ASan) */
    int total = 0;
    for (;;) {
        ssize_t n = coop_sock_read(f->sv[1], buf, sizeof buf);
        if (n <= 0) return total;
        total += (int)n;
    }
}

static int write_body(void *arg) {
    (void)arg;
    fixture f;
    setup(&f, NULL);
    CHECK_OK(coop_stream_write(f.s, "hello ", 6));
    CHECK_EQ(coop_stream_printf(f.s, "%s %d", "world", 42), 8);
    CHECK_EQ(coop_stream_pending(f.s), 14);
    char buf[32];
    CHECK_ERR(read(f.sv[1], buf, sizeof buf), -1); /* nothing sent before the flush */
    CHECK_OK(coop_stream_flush(f.s));
    CHECK_EQ(coop_stream_pending(f.s), 0);
    CHECK_EQ(read(f.sv[1], buf, sizeof buf), 14);
    CHECK(memcmp(buf, "hello world 42", 14) == 0);
    /* A long printf grows the buffer. */
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ(coop_stream_printf(f.s, "<%s>", big), 3001);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "collect", collect, &f));
    CHECK_OK(coop_stream_flush(f.s));
    coop_sock_shutdown(f.sv[0], SHUT_WR);
    int total;
    CHECK_OK(coop_join(t, &total));
    CHECK_EQ(total, 3001);
    teardown(&f);
    return 0;
}

TEST(stream_write_buffers_until_flush) { CHECK_EQ(test_run(write_body, NULL), 0); }

static int drain_body(void *arg) {
    (void)arg;
    fixture f;
    coop_stream_opts o = {.high_water = 256 * 1024, .low_water = 64 * 1024};
    setup(&f, &o);
    char chunk[4096];
    memset(chunk, 'd', sizeof chunk);
    /* Nobody reads sv[1]: once the kernel buffers are full, drain must hold
     * the producer back instead of letting the buffer grow. */
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_SEC(1)));
    int r = 0;
    size_t produced = 0;
    while ((r = coop_stream_drain(f.s)) == 0) {
        CHECK_OK(coop_stream_write(f.s, chunk, sizeof chunk));
        produced += sizeof chunk;
        CHECK(coop_stream_pending(f.s) <= o.high_water + sizeof chunk);
    }
    coop_scope_exit(&s);
    CHECK_ERR(r, -ETIMEDOUT);
    CHECK(produced > o.high_water);
    /* A cancelled flush is not an error: with a reader it completes. */
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "collect", collect, &f));
    CHECK_OK(coop_stream_flush(f.s));
    coop_sock_shutdown(f.sv[0], SHUT_WR);
    int total;
    CHECK_OK(coop_join(t, &total));
    CHECK_EQ(total, produced);
    teardown(&f);
    return 0;
}

TEST(stream_drain_applies_back_pressure) { CHECK_EQ(test_run(drain_body, NULL), 0); }

static int sticky_body(void *arg) {
    (void)arg;
    fixture f;
    setup(&f, NULL);
    coop_close(f.sv[1]);
    f.sv[1] = -1;
    CHECK_OK(coop_stream_write(f.s, "x", 1));
    CHECK_ERR(coop_stream_flush(f.s), -EPIPE);
    CHECK_ERR(coop_stream_write(f.s, "y", 1), -EPIPE);
    CHECK_ERR(coop_stream_printf(f.s, "z"), -EPIPE);
    CHECK_ERR(coop_stream_flush(f.s), -EPIPE);
    teardown(&f);
    return 0;
}

TEST(stream_write_error_is_sticky) { CHECK_EQ(test_run(sticky_body, NULL), 0); }

static int second_reader(void *arg) {
    fixture *f = arg;
    const char *line;
    coop_stream_readline(f->s, &line); /* aborts: another task is reading */
    return 0;
}

static int misuse_body(void *arg) {
    (void)arg;
    fixture f;
    setup(&f, NULL);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "second", second_reader, &f));
    const char *line;
    coop_stream_readline(f.s, &line);
    return 0;
}

TEST(stream_two_readers_at_once_is_misuse) {
    check_aborts(misuse_body);
}

static int nomem_body(void *arg) {
    (void)arg;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    coop_stream *s;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_stream_new(&s, sv[0], NULL), -ENOMEM);
    CHECK_OK(coop_stream_new(&s, sv[0], NULL));
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_stream_write(s, "x", 1), -ENOMEM); /* the buffer allocation fails */
    CHECK_OK(coop_stream_write(s, "x", 1));
    CHECK_EQ(write(sv[1], "line\n", 5), 5);
    const char *line;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_stream_readline(s, &line), -ENOMEM);
    CHECK_EQ(coop_stream_readline(s, &line), 5);
    coop_stream_opts bad = {.high_water = 10, .low_water = 20};
    CHECK_ERR(coop_stream_new(&s, sv[0], &bad), -EINVAL);
    coop_stream_free(s);
    coop_close(sv[0]);
    coop_close(sv[1]);
    return 0;
}

TEST(stream_allocation_failures_are_enomem) { CHECK_EQ(test_run(nomem_body, NULL), 0); }
