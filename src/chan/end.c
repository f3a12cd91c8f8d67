/*
 * end.c — trio-style send and receive ends of a channel. An end is a
 * caller-owned handle {channel, open flag}; the channel counts its open
 * ends of each kind. Closing an end wakes the operations blocked through
 * it with -EBADF (ops record the end they go through); the last send end
 * closing closes the channel; the last receive end closing makes the
 * channel unreceivable (sends fail with -EPIPE, blocked senders wake with
 * -EPIPE). A closed end keeps its storage valid, so using it again is a
 * clean -EBADF rather than a use-after-free.
 */
#include <errno.h>
#include <stdint.h>
#include "chan/chan.h"
#include "util/misuse.h"

struct end {
    coop_chan *chan; /* the channel this end opens */
    int open;        /* 1 until closed */
};

_Static_assert(sizeof(struct end) <= sizeof(coop_chan_tx), "coop_chan_tx storage too small");
_Static_assert(sizeof(struct end) <= sizeof(coop_chan_rx), "coop_chan_rx storage too small");

#define END(x) ((struct end *)(void *)(x)->opaque_)
#define CEND(x) ((const struct end *)(const void *)(x)->opaque_)

void coop_chan_tx_open(coop_chan_tx *tx, coop_chan *c) {
    END(tx)->chan = c;
    END(tx)->open = 1;
    c->tx_open++;
}

void coop_chan_rx_open(coop_chan_rx *rx, coop_chan *c) {
    END(rx)->chan = c;
    END(rx)->open = 1;
    c->rx_open++;
}

int coop_chan_tx_clone(coop_chan_tx *dst, const coop_chan_tx *src) {
    if (!CEND(src)->open) return -EBADF;
    coop_chan_tx_open(dst, CEND(src)->chan);
    return 0;
}

int coop_chan_rx_clone(coop_chan_rx *dst, const coop_chan_rx *src) {
    if (!CEND(src)->open) return -EBADF;
    coop_chan_rx_open(dst, CEND(src)->chan);
    return 0;
}

void coop_chan_tx_close(coop_chan_tx *tx) {
    struct end *e = END(tx);
    if (!e->open) return;
    e->open = 0;
    coop_chan *c = e->chan;
    coop__chan_wake_end(&c->senders, e, -EBADF);
    if (--c->tx_open == 0) coop_chan_close(c);
}

void coop_chan_rx_close(coop_chan_rx *rx) {
    struct end *e = END(rx);
    if (!e->open) return;
    e->open = 0;
    coop_chan *c = e->chan;
    coop__chan_wake_end(&c->receivers, e, -EBADF);
    if (--c->rx_open == 0) {
        c->unreceivable = 1;
        coop__chan_wake_all(&c->senders, -EPIPE);
    }
}

int coop_chan_tx_send(coop_chan_tx *tx, const void *value) {
    struct end *e = END(tx);
    if (!e->open) return -EBADF;
    return coop__chan_op_wait(e->chan, COOP_CHAN_SEND, (void *)(uintptr_t)value, e,
                              "coop_chan_tx_send");
}

int coop_chan_rx_recv(coop_chan_rx *rx, void *out) {
    struct end *e = END(rx);
    if (!e->open) return -EBADF;
    return coop__chan_op_wait(e->chan, COOP_CHAN_RECV, out, e, "coop_chan_rx_recv");
}

int coop_chan_tx_try_send(coop_chan_tx *tx, const void *value) {
    struct end *e = END(tx);
    return e->open ? coop_chan_try_send(e->chan, value) : -EBADF;
}

int coop_chan_rx_try_recv(coop_chan_rx *rx, void *out) {
    struct end *e = END(rx);
    return e->open ? coop_chan_try_recv(e->chan, out) : -EBADF;
}

coop_chan_case coop_chan_case_tx(coop_chan_tx *tx, const void *value) {
    coop_chan_case k = {.chan = END(tx)->chan, .end = END(tx), .value = value, .op = COOP_CHAN_SEND};
    return k;
}

coop_chan_case coop_chan_case_rx(coop_chan_rx *rx, void *out) {
    coop_chan_case k = {.chan = END(rx)->chan, .end = END(rx), .out = out, .op = COOP_CHAN_RECV};
    return k;
}

int coop__chan_end_closed(const void *end) { return end && !((const struct end *)end)->open; }
