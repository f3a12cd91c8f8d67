/*
 * select.c — coop_chan_select: wait for the first of several channel
 * operations (Go's select), with a deadline or a non-blocking default.
 *
 * Poll the cases in array order; the first one that can happen now
 * happens. Otherwise link one op per case into the channels' queues, all
 * in one group on one park record, and park: the first partner to match
 * any of the ops fires the group, which unlinks the other ops before the
 * task is woken, so exactly one case happens. A deadline is a cancel scope
 * around the park (no timer of our own). The ops live on the stack (a VLA
 * bounded by COOP__SELECT_MAX): a select allocates nothing.
 */
#include <errno.h>
#include <stdint.h>
#include "chan/chan.h"

/* Most cases in one select: bounds the stack a select uses. */
#define COOP__SELECT_MAX 64

coop_chan_case coop_chan_case_send(coop_chan *c, const void *value) {
    coop_chan_case k = {.chan = c, .value = value, .op = COOP_CHAN_SEND};
    return k;
}

coop_chan_case coop_chan_case_recv(coop_chan *c, void *out) {
    coop_chan_case k = {.chan = c, .out = out, .op = COOP_CHAN_RECV};
    return k;
}

static int validate(const coop_chan_case *cases, size_t n) {
    if (n > COOP__SELECT_MAX || (n && !cases)) return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (cases[i].op != COOP_CHAN_SEND && cases[i].op != COOP_CHAN_RECV) return -EINVAL;
    return 0;
}

static void *case_buf(const coop_chan_case *k) {
    return k->op == COOP_CHAN_SEND ? (void *)(uintptr_t)k->value : k->out;
}

/* The index of the first case that happens now, or -EAGAIN. */
static int poll_cases(coop_chan_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        coop_chan_case *k = &cases[i];
        if (!k->chan) continue;
        int r = coop__chan_end_closed(k->end) ? -EBADF : coop__chan_try(k->chan, k->op, case_buf(k));
        if (r != COOP__CHAN_WOULD_WAIT) {
            k->result = r;
            return (int)i;
        }
    }
    return -EAGAIN;
}

int coop_chan_try_select(coop_chan_case *cases, size_t n) {
    int r = validate(cases, n);
    return r < 0 ? r : poll_cases(cases, n);
}

int coop_chan_select(coop_chan_case *cases, size_t n, int64_t deadline) {
    int r = validate(cases, n);
    if (r < 0) return r;
    r = coop__checkpoint();
    if (r < 0) return r;
    r = poll_cases(cases, n);
    if (r >= 0) return r;
    if (deadline != COOP_NEVER && deadline <= coop_now()) return -ETIMEDOUT;

    coop__chan_op ops[n ? n : 1];
    for (size_t i = 0; i < n; i++)
        ops[i] = (coop__chan_op){.chan = cases[i].chan, .buf = case_buf(&cases[i]),
                                 .end = cases[i].end, .kind = cases[i].op, .index = (int)i};
    coop__chan_group g = {.ops = ops, .n = n, .result = 0};
    coop_scope deadline_scope;
    if (deadline != COOP_NEVER) coop_scope_enter(&deadline_scope, deadline);
    r = coop__chan_group_park(&g, "coop_chan_select");
    /* If the deadline passed after a case fired, the case stands. */
    if (deadline != COOP_NEVER) coop_scope_exit(&deadline_scope);
    if (r >= 0) cases[r].result = g.result;
    return r;
}
