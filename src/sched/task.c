/*
 * task.c — creating, finishing, joining and naming tasks, and the id table.
 *
 * A task record is placed at the top of its own stack; the fiber runs on
 * the rest. Ids are (generation << 32 | slot index + 1): a slot is reused
 * only with a new generation, so a stale id is detected (-ESRCH) instead of
 * reaching another task. The slot keeps the result after the stack is gone
 * until the handle is joined or detached.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "sched/loop.h"
#include "util/alloc.h"
#include "util/misuse.h"

/* ---- id slots ------------------------------------------------------------ */

static int slot_alloc(coop__loop *l, uint32_t *out) {
    if (!l->free_slot) {
        uint32_t n = l->nslots ? l->nslots * 2 : 64;
        if (n <= l->nslots) return -ENOMEM;
        coop__slot *s = coop__realloc(l->slots, (size_t)n * sizeof *s);
        if (!s) return -ENOMEM;
        memset(s + l->nslots, 0, (size_t)(n - l->nslots) * sizeof *s);
        /* Chain the new slots into the free list, lowest index first. */
        for (uint32_t i = n; i-- > l->nslots;) {
            s[i].next_free = l->free_slot;
            l->free_slot = i + 1;
        }
        l->slots = s;
        l->nslots = n;
    }
    uint32_t idx = l->free_slot - 1;
    coop__slot *s = &l->slots[idx];
    l->free_slot = s->next_free;
    s->next_free = 0;
    s->in_use = 1;
    s->done = 0;
    s->joinable = 0;
    s->joiner = NULL;
    s->result = 0;
    s->gen++;
    *out = idx;
    return 0;
}

void coop__slot_free(coop__loop *l, uint32_t idx) {
    coop__slot *s = &l->slots[idx];
    s->in_use = 0;
    s->task = NULL;
    s->next_free = l->free_slot;
    l->free_slot = idx + 1;
}

static inline coop_task_id slot_id(const coop__loop *l, uint32_t idx) {
    return ((uint64_t)l->slots[idx].gen << 32) | (uint64_t)(idx + 1);
}

coop__slot *coop__slot_lookup(coop__loop *l, coop_task_id id) {
    uint64_t low = id & 0xffffffffu;
    if (!l || low == 0 || low > l->nslots) return NULL;
    coop__slot *s = &l->slots[low - 1];
    if (!s->in_use || s->gen != (uint32_t)(id >> 32)) return NULL;
    return s;
}

/* ---- life of a task -------------------------------------------------------- */

static void finish(coop__loop *l, coop__task *t, int result) {
    if (t->scope != &t->root_scope)
        coop__misuse("task '%s' returned without exiting a cancel scope or closing a nursery",
                     t->name);
    coop__slot *s = &l->slots[t->slot];
    s->task = NULL;
    s->done = 1;
    s->result = result;
    if (t->nursery) coop__nursery_child_done(t->nursery, t, result);
    coop__scope_exit(t, &t->root_scope);
    if (s->joiner)
        coop__unpark(s->joiner, 0);
    else if (!s->joinable)
        coop__slot_free(l, t->slot);
    coop__list_remove(&t->all);
    l->ntasks--;
}

static void task_main(void *arg) {
    coop__task *t = arg;
    coop__loop *l = t->loop;
    coop__sched_after_switch(l);
    int result = t->fn(t->arg);
    finish(l, t, result);
    coop__sched_exit(l, t);
}

int coop__task_spawn(coop__loop *l, const coop_spawn_opts *opts, coop_fn fn, void *arg,
                     struct coop__nursery *nursery, coop__scope *parent_scope, int joinable,
                     coop_task_id *id) {
    if (!fn) return -EINVAL;
    size_t size = opts && opts->stack_size ? opts->stack_size : l->stack_size;
#if defined(COOP_ASAN) || defined(COOP_TSAN)
    size *= 4; /* sanitizer frames carry redzones and shadow state: same program, same headroom */
#endif
    uint32_t idx;
    int r = slot_alloc(l, &idx);
    if (r < 0) return r;
    coop__stack st;
    r = coop__stack_get(l->stacks, size, &st);
    if (r < 0) {
        coop__slot_free(l, idx);
        return r;
    }
    uintptr_t top = ((uintptr_t)st.hi - sizeof(coop__task)) & ~(uintptr_t)63;
    coop__task *t = (coop__task *)top;
    /* Field by field rather than memset: the record is ~400 bytes and this
     * is the spawn fast path. fiber and root_scope are set up below. */
    t->next_ready = NULL;
    t->coro = NULL;
    t->parked = NULL;
    t->atomic_depth = 0;
    t->atomic_what = NULL;
    t->stack = st;
    t->loop = l;
    t->fn = fn;
    t->arg = arg;
    t->slot = idx;
    t->nursery = nursery;
    const char *name = opts && opts->name ? opts->name : "task";
    size_t n = 0; /* names are short: a byte loop beats strnlen + memcpy calls */
    for (; n < sizeof t->name - 1 && name[n]; n++) t->name[n] = name[n];
    t->name[n] = '\0';
    coop__stack_set_name(&t->stack, t->name);
    coop__fiber_make(&t->fiber, st.lo, (void *)top, task_main, t);
    t->resume = &t->fiber;
    coop__scope_enter(t, &t->root_scope, parent_scope, COOP_NEVER);
    coop__list_push(&l->tasks, &t->all);
    l->ntasks++;
    l->slots[idx].task = t;
    l->slots[idx].joinable = (uint8_t)(joinable != 0);
    if (id) *id = slot_id(l, idx);
    coop__ready_push(l, t);
    return 0;
}

/* ---- public API ------------------------------------------------------------ */

int coop_spawn_with(coop_task_id *id, const coop_spawn_opts *opts, coop_fn fn, void *arg) {
    coop__loop *l = coop__tls_loop;
    if (!l) return -EPERM;
    return coop__task_spawn(l, opts, fn, arg, NULL, NULL, id != NULL, id);
}

int coop_spawn(coop_task_id *id, const char *name, coop_fn fn, void *arg) {
    coop_spawn_opts o = {name, 0};
    return coop_spawn_with(id, &o, fn, arg);
}

typedef struct join_wait {
    coop__waiter w;   /* parked on */
    coop__loop *loop; /* slots may move: keep the index, not a pointer */
    uint32_t idx;     /* slot of the joined task */
} join_wait;

static void join_cancelled(coop__waiter *w) {
    join_wait *j = COOP_CONTAINER_OF(w, join_wait, w);
    j->loop->slots[j->idx].joiner = NULL;
}

int coop_join(coop_task_id id, int *result) {
    coop__loop *l = coop__tls_loop;
    if (!l || !l->current) return -EPERM;
    coop__slot *s = coop__slot_lookup(l, id);
    if (!s || !s->joinable) return -ESRCH;
    if (s->task == l->current) return -EDEADLK;
    if (s->joiner) return -EBUSY;
    uint32_t idx = (uint32_t)((id & 0xffffffffu) - 1);
    if (!s->done) {
        join_wait j = {.w = {.on_cancel = join_cancelled, .what = "coop_join"}, .loop = l, .idx = idx};
        s->joiner = &j.w;
        int r = coop__park(&j.w);
        l->slots[idx].joiner = NULL;
        if (r < 0) return r;
        s = &l->slots[idx];
    } else {
        int r = coop__checkpoint();
        if (r < 0) return r;
    }
    if (result) *result = s->result;
    coop__slot_free(l, idx);
    return 0;
}

int coop_detach(coop_task_id id) {
    coop__loop *l = coop__tls_loop;
    coop__slot *s = coop__slot_lookup(l, id);
    if (!s || !s->joinable) return -ESRCH;
    if (s->joiner) return -EBUSY;
    s->joinable = 0;
    if (s->done) coop__slot_free(l, (uint32_t)((id & 0xffffffffu) - 1));
    return 0;
}

int coop_cancel(coop_task_id id) {
    coop__slot *s = coop__slot_lookup(coop__tls_loop, id);
    if (!s) return -ESRCH;
    if (s->task) coop__scope_cancel(&s->task->root_scope, -ECANCELED);
    return 0;
}

coop_task_id coop_self(void) {
    coop__loop *l = coop__tls_loop;
    if (!l || !l->current) return 0;
    return slot_id(l, l->current->slot);
}

const char *coop_task_name(coop_task_id id) {
    coop__slot *s = coop__slot_lookup(coop__tls_loop, id);
    return s && s->task ? s->task->name : NULL;
}

int coop_task_state(coop_task_id id) {
    coop__slot *s = coop__slot_lookup(coop__tls_loop, id);
    if (!s) return -ESRCH;
    return s->task ? s->task->state : COOP_TASK_DONE;
}

size_t coop_task_count(void) {
    coop__loop *l = coop__tls_loop;
    return l ? l->ntasks : 0;
}
