/*
 * chat_server.c — a line-based chat room: every line a client sends goes to
 * every other client, prefixed with the sender's name; joins and leaves
 * are announced.
 *
 *   chat_server PORT [HOST]
 *   (in two terminals) nc 127.0.0.1 PORT
 *
 * The room (a list of clients) is shared by all connection tasks and has
 * no lock: a broadcast walks the list and appends to each member's output
 * buffer with coop_stream_write, which never suspends, so no other task can
 * join, leave or write in the middle of the walk. Each client has a writer
 * task that sleeps on an event and flushes when woken, so one slow reader
 * never holds up the sender. A member whose unsent output passes 256 KiB
 * (it stopped reading) is removed: its scope is cancelled, which ends its
 * reader and writer at their next checkpoint.
 */
#include <stdio.h>
#include "serve_main.h"

#define MAX_LINE 1024
#define MAX_BACKLOG ((size_t)256 * 1024)

typedef struct client {
    struct client *prev, *next; /* the room's list */
    coop_stream *s;             /* the connection */
    coop_event has_output;      /* set when output was appended */
    coop_scope life;            /* cancelled to remove the client */
    int removed;                /* cancelled for being too slow */
    char name[16];              /* "guestN" */
} client;

static struct {
    client *head;    /* members, newest first */
    unsigned joined; /* names handed out */
} room;

/* Send text (len bytes) to every member but `from`. No checkpoint inside:
 * the walk sees the room as one consistent state. */
static void broadcast(const client *from, const char *text, size_t len) {
    for (client *c = room.head; c; c = c->next) {
        if (c == from || c->removed) continue;
        if (coop_stream_pending(c->s) + len > MAX_BACKLOG) {
            c->removed = 1; /* it stopped reading: drop it rather than grow */
            coop_scope_cancel(&c->life);
            continue;
        }
        if (coop_stream_write(c->s, text, len) == 0) coop_event_set(&c->has_output);
    }
}

static void announce(const client *c, const char *what) {
    char msg[64];
    int n = snprintf(msg, sizeof msg, "* %s %s\n", c->name, what);
    broadcast(c, msg, (size_t)n);
}

/* The client's writer: flush whenever a broadcast added output. */
static int writer(void *arg) {
    client *c = arg;
    for (;;) {
        int r = coop_event_wait(&c->has_output);
        if (r < 0) return r;
        coop_event_clear(&c->has_output);
        if ((r = coop_stream_flush(c->s)) < 0) return r;
    }
}

static int chat_connection(int fd, void *arg) {
    (void)arg;
    client c = {0};
    coop_stream_opts so = {.max_record = MAX_LINE};
    int r = coop_stream_new(&c.s, fd, &so);
    if (r < 0) return r;
    coop_event_init(&c.has_output);
    snprintf(c.name, sizeof c.name, "guest%u", ++room.joined);
    coop_stream_printf(c.s, "* you are %s\n", c.name);
    coop_event_set(&c.has_output);
    c.next = room.head; /* join: link in and announce, with no checkpoint */
    if (room.head) room.head->prev = &c;
    room.head = &c;
    announce(&c, "joined");

    coop_scope_enter(&c.life, COOP_NEVER);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    coop_nursery_spawn(&n, NULL, "chat-writer", writer, &c);
    int skipping = 0; /* inside an over-long line: drop up to its end */
    for (;;) {
        const char *line;
        ssize_t len = coop_stream_readline(c.s, &line);
        if (len == -EMSGSIZE) { /* drop the over-long line, keep the client */
            coop_stream_consume(c.s, coop_stream_buffered(c.s));
            if (!skipping) {
                coop_stream_printf(c.s, "* line too long (max %d bytes)\n", MAX_LINE);
                coop_event_set(&c.has_output);
            }
            skipping = 1;
            continue;
        }
        if (len <= 0) {
            r = (int)len;
            break;
        }
        if (skipping) { /* the tail of the over-long line */
            skipping = 0;
            continue;
        }
        char msg[MAX_LINE + 32];
        int m = snprintf(msg, sizeof msg, "%s: %.*s", c.name, (int)len, line);
        if (line[len - 1] != '\n') msg[m++] = '\n'; /* a last line without newline */
        broadcast(&c, msg, (size_t)m);
    }
    coop_nursery_cancel(&n); /* the writer */
    coop_nursery_close(&n);
    coop_scope_exit(&c.life);

    if (c.prev) c.prev->next = c.next; /* leave: unlink and announce */
    else room.head = c.next;
    if (c.next) c.next->prev = c.prev;
    announce(&c, c.removed ? "was dropped (not reading)" : "left");
    coop_event_destroy(&c.has_output);
    coop_stream_free(c.s);
    return r;
}

int main(int argc, char **argv) {
    static serve_config cfg;
    cfg.handler = chat_connection;
    cfg.timeout = COOP_NEVER; /* chat clients may idle */
    return serve_main(argc, argv, &cfg);
}
