/*
 * stack.c — task stacks: carved from large lazily committed mappings,
 * pooled per loop, guarded (guard regions, or mprotect within a mapping
 * budget), canaried beyond the budget.
 *
 * A pool keeps one size class per distinct (page-rounded) size. A class
 * maps chunks of 16, 32, ... up to 1024 slots with one mmap each
 * (MAP_NORESERVE: only touched pages cost memory). A slot, low to high:
 *   [guard page][zero canary band][usable stack ... hi][stagger gap]
 * hi is staggered by (slot index % STAGGER_LINES) cache lines so that the
 * task records the scheduler puts at the tops do not all fall into the same
 * L1 set; the extra page per slot pays for the gap, so every stack keeps at
 * least its requested size.
 *
 * Guard pages: on Linux 6.13+ a guard is a madvise(MADV_GUARD_INSTALL)
 * guard region, which costs no mapping, so every stack gets one. Older
 * kernels need mprotect, which splits the chunk's VMA (about two map
 * entries per guard), and the kernel refuses more than vm.max_map_count
 * (65530 by default) per process. So mprotect guards are handed out from a
 * process-wide budget (half of max_map_count); beyond it stacks are
 * unguarded and protected only by the zero canary band below lo, which
 * coop__stack_put and coop__stack_check verify (aborting with the owner's
 * name). The band must be zero rather than a pattern: writing a pattern
 * would touch the bottom page of every stack, doubling the memory of a
 * parked task; and it is read only when mincore says its page is resident
 * (an overflow must have written it). See docs/guide/core-stacks.md.
 *
 * Reuse is LIFO from a "hot" list without any syscall; past a high-water
 * mark of pooled stacks the surplus is MADV_FREE'd onto a "cold" list, in
 * batches of RELEASE_BATCH sorted by address so that neighbouring stacks
 * (the usual case when many tasks end together) go in one madvise call.
 * Chunks are unmapped only when the pool is freed.
 *
 * A fault in a guard page is reported by a SIGSEGV handler on an alternate
 * stack (installed once per process, chaining to the previous handler for
 * every other fault; each thread that has a pool gets an alternate stack).
 */
#include "core/stack.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coop.h"
#include "util/alloc.h"
#include "util/misuse.h"

#ifdef COOP_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef COOP_VALGRIND
#include <valgrind/memcheck.h>
#endif

#define STAGGER_LINES 16      /* distinct top offsets, 64 bytes apart */
#define CANARY_BYTES 64       /* zero band below lo, checked on put */
#define CHUNK_MIN_SLOTS 16    /* first chunk of a class */
#define CHUNK_MAX_SLOTS 1024  /* chunks double up to this */
#define CHUNK_MAX_BYTES ((size_t)1 << 30)
#define HIGH_WATER_DEFAULT 64 /* pooled stacks kept hot per class */
#define RELEASE_BATCH 32      /* surplus stacks released together */
#define ALTSTACK_BYTES (64 * 1024)

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

/* What protects the page below a stack's canary band. */
enum { GUARD_NONE, GUARD_MPROTECT, GUARD_REGION };

typedef struct chunk chunk;
typedef struct size_class size_class;

/* The pool-private record of one slot (coop__stack.meta). */
typedef struct slot {
    struct slot *next;   /* free-list link while pooled */
    const char *name;    /* owner's name for overflow reports, or NULL */
    chunk *owner;        /* the chunk this slot lives in */
    unsigned char guarded; /* GUARD_NONE, GUARD_MPROTECT or GUARD_REGION */
    unsigned char in_use;  /* handed out and not put back */
} slot;

/* One mapping holding nslots slots of one size class. */
struct chunk {
    chunk *next;         /* the pool's chunk list, newest first */
    char *base;          /* start of the mapping */
    size_t slot_bytes;   /* guard page + size + one page (canary, stagger) */
    size_class *klass;   /* the size class its slots belong to */
    size_t size;         /* klass->size */
    unsigned nslots;     /* slots in the mapping */
    unsigned used;       /* slots [0, used) have been handed out at least once */
    slot slots[];        /* per-slot records */
};

/* All stacks of one size. */
struct size_class {
    size_class *next; /* the pool's classes, most recently used first */
    size_t size;         /* usable bytes at least, a page multiple */
    slot *hot;           /* pooled stacks, LIFO, never released */
    unsigned nhot;       /* length of hot */
    slot *pending;       /* surplus pooled stacks, not released yet */
    unsigned npending;   /* length of pending, < RELEASE_BATCH */
    slot *cold;          /* pooled stacks released with MADV_FREE */
    chunk *fresh;        /* newest chunk (may have never-used slots) */
    unsigned nslots;     /* slots mapped for this class */
};

struct coop__stack_pool {
    size_class *classes;          /* size classes, most recently used first */
    chunk *_Atomic chunks;        /* every chunk; read by the fault handler */
    coop__stack_pool *next_on_thread; /* the thread's pools (fault handler) */
    unsigned high_water;          /* hot stacks kept per class */
    coop__stack_stats stats;      /* counters for tests and debugging */
};

/* ---- process-wide state ------------------------------------------------ */

static size_t page_size;
static atomic_long guard_vmas_used;   /* map entries spent on guards */
static atomic_long guard_vmas_limit;  /* the budget for them */
static long guard_vmas_default;       /* half of vm.max_map_count */
static atomic_int madv_release = MADV_FREE; /* MADV_DONTNEED on pre-4.5 kernels */
static int guard_regions_work;        /* the kernel has MADV_GUARD_INSTALL */
static atomic_int guard_regions_used; /* new guards are guard regions */
static struct sigaction previous_segv; /* chained for faults not ours */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The thread's pools, for the fault handler. initial-exec: the handler
 * must not trigger a lazy TLS allocation. */
static _Thread_local coop__stack_pool *thread_pools __attribute__((tls_model("initial-exec")));
static _Thread_local void *thread_altstack __attribute__((tls_model("initial-exec")));

static void on_segv(int sig, siginfo_t *info, void *context);

static long read_max_map_count(void) {
    long n = 65530; /* the kernel's default (DEFAULT_MAX_MAP_COUNT) */
    int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return n;
    char buf[32];
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len > 0) {
        buf[len] = 0;
        long v = strtol(buf, NULL, 10);
        if (v > 0) n = v;
    }
    return n;
}

/* Whether madvise(MADV_GUARD_INSTALL) really guards: a kernel without it
 * says EINVAL, but an emulator (qemu-user) may accept and ignore unknown
 * advice, so check that the kernel itself now refuses to read the page. */
static int probe_guard_regions(void) {
    char *p = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    int works = 0, fds[2];
    if (madvise(p, page_size, MADV_GUARD_INSTALL) == 0 && pipe2(fds, O_CLOEXEC) == 0) {
        works = write(fds[1], p, 1) < 0 && errno == EFAULT;
        close(fds[0]);
        close(fds[1]);
    }
    munmap(p, 2 * page_size);
    return works;
}

static void init_process(void) {
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    guard_regions_work = probe_guard_regions();
    atomic_store(&guard_regions_used, guard_regions_work);
    guard_vmas_default = read_max_map_count() / 2;
    atomic_store(&guard_vmas_limit, guard_vmas_default);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
}

void coop__stack_set_guard_budget(long vmas) {
    pthread_once(&init_once, init_process);
    atomic_store(&guard_vmas_limit, vmas < 0 ? guard_vmas_default : vmas);
}

long coop__stack_guard_budget_used(void) { return atomic_load(&guard_vmas_used); }

int coop__stack_use_guard_regions(int enable) {
    pthread_once(&init_once, init_process);
    atomic_store(&guard_regions_used, enable && guard_regions_work);
    return atomic_load(&guard_regions_used);
}

/* Reserve the map entries one guard page costs; 0 if over budget. */
static int reserve_guard(void) {
    long used = atomic_load(&guard_vmas_used);
    do {
        if (used + 2 > atomic_load(&guard_vmas_limit)) return 0;
    } while (!atomic_compare_exchange_weak(&guard_vmas_used, &used, used + 2));
    return 1;
}

static void release_guards(long n) { atomic_fetch_sub(&guard_vmas_used, 2 * n); }

/* ---- overflow reports ---------------------------------------------------- */

/* Async-signal-safe: only write(2) and abort(). */
static void write_all(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void write_str(const char *s) { write_all(s, strlen(s)); }

__attribute__((noreturn)) static void report_overflow(const slot *s, const char *how) {
    char num[24];
    int i = (int)sizeof num;
    size_t size = s->owner->size;
    do {
        num[--i] = (char)('0' + size % 10);
        size /= 10;
    } while (size && i > 0);
    write_str("coop: stack overflow in task '");
    write_str(s->name ? s->name : "(unnamed)");
    write_str("' (stack size ");
    write_all(num + i, sizeof num - (size_t)i);
    write_str(" bytes)");
    write_str(how);
    write_str("\n");
    abort();
}

/* The slot whose guard page holds addr, among the thread's pools. */
static const slot *guard_hit(uintptr_t addr) {
    for (coop__stack_pool *p = thread_pools; p; p = p->next_on_thread) {
        for (chunk *c = atomic_load_explicit(&p->chunks, memory_order_acquire); c; c = c->next) {
            uintptr_t base = (uintptr_t)c->base;
            if (addr < base || addr >= base + c->nslots * c->slot_bytes) continue;
            size_t i = (addr - base) / c->slot_bytes;
            if ((addr - base) % c->slot_bytes < page_size && i < c->used &&
                c->slots[i].guarded && c->slots[i].in_use)
                return &c->slots[i];
            return NULL;
        }
    }
    return NULL;
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    int fault = info->si_code > 0; /* from the kernel, not kill/raise */
    const slot *s = fault ? guard_hit((uintptr_t)info->si_addr) : NULL;
    if (s) report_overflow(s, "");
    /* Not ours: hand it to whoever was there before. */
    if (previous_segv.sa_flags & SA_SIGINFO) {
        previous_segv.sa_sigaction(sig, info, context);
    } else if (previous_segv.sa_handler == SIG_IGN && !fault) {
        return; /* a sent SIGSEGV that was to be ignored */
    } else if (previous_segv.sa_handler == SIG_DFL || previous_segv.sa_handler == SIG_IGN) {
        /* Re-executing the faulting instruction with the default action
         * kills the process with the original signal and address; a sent
         * signal is sent again (it is blocked until we return). */
        signal(SIGSEGV, SIG_DFL);
        if (!fault) raise(sig);
    } else {
        previous_segv.sa_handler(sig);
    }
}

/* Give the thread an alternate signal stack unless it has one. */
static void thread_altstack_install(void) {
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return;
    void *mem = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) return; /* overflows then die by plain SIGSEGV */
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, ALTSTACK_BYTES);
        return;
    }
    thread_altstack = mem;
}

static void thread_altstack_remove(void) {
    if (!thread_altstack) return;
    stack_t cur;
    /* Disable it only if it is still ours (not replaced meanwhile). */
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == thread_altstack) {
        stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
    }
    munmap(thread_altstack, ALTSTACK_BYTES);
    thread_altstack = NULL;
}

/* ---- pool ------------------------------------------------------------------ */

int coop__stack_pool_new(coop__stack_pool **pool) {
    pthread_once(&init_once, init_process);
    coop__stack_pool *p = coop__calloc(1, sizeof *p);
    if (!p) return -ENOMEM;
    p->high_water = HIGH_WATER_DEFAULT;
    if (!thread_pools) thread_altstack_install();
    p->next_on_thread = thread_pools;
    thread_pools = p;
    *pool = p;
    return 0;
}

void coop__stack_pool_free(coop__stack_pool *pool) {
    if (!pool) return;
    if (pool->stats.live != 0)
        coop__fatal("coop__stack_pool_free: %lu stacks still in use", pool->stats.live);
    for (coop__stack_pool **pp = &thread_pools; *pp; pp = &(*pp)->next_on_thread) {
        if (*pp == pool) {
            *pp = pool->next_on_thread;
            break;
        }
    }
    if (!thread_pools) thread_altstack_remove();
    chunk *c = atomic_load(&pool->chunks);
    while (c) {
        chunk *next = c->next;
        long guards = 0;
        for (unsigned i = 0; i < c->used; i++) guards += c->slots[i].guarded == GUARD_MPROTECT;
        release_guards(guards);
        munmap(c->base, c->nslots * c->slot_bytes);
        coop__free(c);
        c = next;
    }
    size_class *k = pool->classes;
    while (k) {
        size_class *next = k->next;
        coop__free(k);
        k = next;
    }
    coop__free(pool);
}

void coop__stack_pool_set_high_water(coop__stack_pool *pool, unsigned n) { pool->high_water = n; }

void coop__stack_pool_stats(const coop__stack_pool *pool, coop__stack_stats *out) {
    *out = pool->stats;
}

/* The class for size, created if missing; moved to the front so that a
 * loop with one stack size finds it at once. */
static size_class *class_for(coop__stack_pool *pool, size_t size) {
    size_class **pk = &pool->classes;
    for (size_class *k = *pk; k; pk = &k->next, k = k->next) {
        if (k->size != size) continue;
        if (k != pool->classes) {
            *pk = k->next;
            k->next = pool->classes;
            pool->classes = k;
        }
        return k;
    }
    size_class *k = coop__calloc(1, sizeof *k);
    if (!k) return NULL;
    k->size = size;
    k->next = pool->classes;
    pool->classes = k;
    return k;
}

static int chunk_new(coop__stack_pool *pool, size_class *k) {
    size_t slot_bytes = page_size + k->size + page_size;
    size_t n = k->nslots < CHUNK_MIN_SLOTS ? CHUNK_MIN_SLOTS : k->nslots;
    if (n > CHUNK_MAX_SLOTS) n = CHUNK_MAX_SLOTS;
    if (n > CHUNK_MAX_BYTES / slot_bytes) n = CHUNK_MAX_BYTES / slot_bytes;
    if (n == 0) n = 1;
    chunk *c = coop__calloc(1, sizeof *c + n * sizeof(slot));
    if (!c) return -ENOMEM;
    void *base = mmap(NULL, n * slot_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        coop__free(c);
        return -ENOMEM;
    }
#ifdef MADV_NOHUGEPAGE
    /* With transparent huge pages "always", touching the top of one stack
     * could commit 2 MiB around it: stacks are sparse by design. */
    madvise(base, n * slot_bytes, MADV_NOHUGEPAGE);
#endif
    c->base = base;
    c->slot_bytes = slot_bytes;
    c->klass = k;
    c->size = k->size;
    c->nslots = (unsigned)n;
    for (size_t i = 0; i < n; i++) c->slots[i].owner = c;
    c->next = atomic_load_explicit(&pool->chunks, memory_order_relaxed);
    atomic_store_explicit(&pool->chunks, c, memory_order_release);
    k->fresh = c;
    k->nslots += (unsigned)n;
    pool->stats.maps++;
    return 0;
}

static char *slot_start(const slot *s) {
    const chunk *c = s->owner;
    return c->base + (size_t)(s - c->slots) * c->slot_bytes;
}

/* First hand-out of a slot: place its guard page — a guard region, or an
 * mprotect'd page if the budget allows. */
static void slot_first_use(coop__stack_pool *pool, slot *s) {
    if (atomic_load_explicit(&guard_regions_used, memory_order_relaxed) &&
        madvise(slot_start(s), page_size, MADV_GUARD_INSTALL) == 0) {
        s->guarded = GUARD_REGION;
        pool->stats.guarded++;
        return;
    }
    if (reserve_guard()) {
        if (mprotect(slot_start(s), page_size, PROT_NONE) == 0) {
            s->guarded = GUARD_MPROTECT;
            pool->stats.guarded++;
            return;
        }
        release_guards(1); /* ENOMEM: the process is at max_map_count */
    }
    pool->stats.unguarded++;
}

int coop__stack_get(coop__stack_pool *pool, size_t size, coop__stack *out) {
    if (size > ((size_t)1 << 40)) return -ENOMEM;
    if (size < COOP_STACK_MIN) size = COOP_STACK_MIN;
    size = (size + page_size - 1) & ~(page_size - 1);
    size_class *k = pool->classes;
    if (COOP_UNLIKELY(!k || k->size != size)) {
        k = class_for(pool, size);
        if (!k) return -ENOMEM;
    }
    slot *s = k->hot;
    if (COOP_LIKELY(s)) {
        k->hot = s->next;
        k->nhot--;
    } else if ((s = k->pending) != NULL) {
        k->pending = s->next;
        k->npending--;
    } else if ((s = k->cold) != NULL) {
        k->cold = s->next;
    } else {
        if (!k->fresh || k->fresh->used == k->fresh->nslots) {
            int err = chunk_new(pool, k);
            if (err) return err;
        }
        s = &k->fresh->slots[k->fresh->used++];
        slot_first_use(pool, s);
        pool->stats.pooled++; /* balanced by the decrement below */
    }
    pool->stats.pooled--;
    pool->stats.live++;
    s->in_use = 1;
    s->name = NULL;
    s->next = NULL;
    chunk *c = s->owner;
    size_t index = (size_t)(s - c->slots);
    char *start = c->base + index * c->slot_bytes;
    out->lo = start + page_size + CANARY_BYTES;
    out->hi = start + c->slot_bytes - (index % STAGGER_LINES) * 64;
    out->size = size;
    out->meta = s;
    return 0;
}

/* Whether the zero band below an unguarded stack is still zero. Reading
 * the band would commit its page on kernels without a shared zero page, so
 * a page that is not resident (never touched, or reclaimed) passes at the
 * cost of one mincore call; only a resident band is read. */
static int canary_intact(const slot *s) {
    const uint64_t *band = (const uint64_t *)(slot_start(s) + page_size);
    unsigned char resident = 1;
    if (mincore((void *)band, 1, &resident) == 0 && !(resident & 1)) return 1;
#ifdef COOP_VALGRIND
    /* Frames of an overflow that returned left the band "below the stack
     * pointer" for memcheck: reading it is what we mean to do. */
    VALGRIND_MAKE_MEM_DEFINED(band, CANARY_BYTES);
#endif
    uint64_t any = 0;
    for (size_t i = 0; i < CANARY_BYTES / sizeof *band; i++) any |= band[i];
    return any == 0;
}

void coop__stack_check(const coop__stack *s) {
    const slot *sl = s->meta;
    if (!sl->guarded && COOP_UNLIKELY(!canary_intact(sl)))
        report_overflow(sl, ", detected by the canary below the unguarded stack");
}

#ifdef COOP_ASAN
/* The frames a finished task never returned from leave poisoned redzones
 * behind; the next task (and the canary check) must find the memory
 * addressable. Unpoisoning a whole stack writes all of its shadow, which
 * commits shadow pages for untouched stacks (slow, and a lot of memory with
 * many stacks), so only shadow pages that are resident — the only ones
 * that can hold poison — are cleared. */
static void asan_unpoison_used(char *start, size_t len) {
    size_t scale, offset;
    __asan_get_shadow_mapping(&scale, &offset);
    uintptr_t shadow_lo = ((uintptr_t)start >> scale) + offset;
    uintptr_t shadow_hi = (((uintptr_t)start + len) >> scale) + offset;
    uintptr_t page_lo = shadow_lo & ~(uintptr_t)(page_size - 1);
    unsigned char resident[64];
    for (uintptr_t p = page_lo; p < shadow_hi; p += 64 * page_size) {
        size_t n = (shadow_hi - p + page_size - 1) / page_size;
        if (n > 64) n = 64;
        if (mincore((void *)p, n * page_size, resident) != 0) {
            ASAN_UNPOISON_MEMORY_REGION(start, len);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (!(resident[i] & 1)) continue;
            uintptr_t lo = p + i * page_size, hi = lo + page_size;
            if (lo < shadow_lo) lo = shadow_lo;
            if (hi > shadow_hi) hi = shadow_hi;
            ASAN_UNPOISON_MEMORY_REGION((void *)((lo - offset) << scale), (hi - lo) << scale);
        }
    }
}
#endif

static int by_address(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)slot_start(*(slot *const *)a);
    uintptr_t y = (uintptr_t)slot_start(*(slot *const *)b);
    return (x > y) - (x < y);
}

/* Let the kernel take back the pages of [start, start + len) when it needs
 * them (MADV_FREE costs nothing until then; pre-4.5 kernels only have
 * MADV_DONTNEED). */
static void release_range(coop__stack_pool *pool, char *start, size_t len) {
    int advice = atomic_load_explicit(&madv_release, memory_order_relaxed);
    if (madvise(start, len, advice) != 0 && errno == EINVAL && advice == MADV_FREE) {
        atomic_store_explicit(&madv_release, MADV_DONTNEED, memory_order_relaxed);
        madvise(start, len, MADV_DONTNEED);
    }
    pool->stats.release_calls++;
}

/* Release the pending surplus of k and move it to the cold list. Runs of
 * neighbouring slots go in one call; the guard pages between them are in
 * the range, which leaves them guards (MADV_FREE neither changes their
 * protection nor removes guard regions). */
static void release_pending(coop__stack_pool *pool, size_class *k) {
    slot *batch[RELEASE_BATCH];
    unsigned n = 0;
    for (slot *s = k->pending; s && n < RELEASE_BATCH; s = s->next) batch[n++] = s;
    qsort(batch, n, sizeof *batch, by_address);
    size_t slot_bytes = page_size + k->size + page_size;
    for (unsigned i = 0; i < n;) {
        char *start = slot_start(batch[i]) + page_size;
        char *end = slot_start(batch[i]) + slot_bytes;
        unsigned j = i + 1;
        while (j < n && slot_start(batch[j]) == end) end = slot_start(batch[j++]) + slot_bytes;
        release_range(pool, start, (size_t)(end - start));
        i = j;
    }
    for (unsigned i = 0; i < n; i++) {
        batch[i]->next = k->cold;
        k->cold = batch[i];
    }
    pool->stats.released += n;
    k->pending = NULL;
    k->npending = 0;
}

void coop__stack_put(coop__stack_pool *pool, coop__stack *s) {
    slot *sl = s->meta;
    if (COOP_UNLIKELY(!sl || !sl->in_use))
        coop__fatal("coop__stack_put: stack %p is not in use", s->lo);
#ifdef COOP_ASAN
    asan_unpoison_used(slot_start(sl) + page_size, sl->owner->slot_bytes - page_size);
#endif
    coop__stack_check(s);
    sl->in_use = 0;
    sl->name = NULL;
    pool->stats.live--;
    pool->stats.pooled++;
    size_class *k = sl->owner->klass;
    if (COOP_LIKELY(k->nhot < pool->high_water)) {
        sl->next = k->hot;
        k->hot = sl;
        k->nhot++;
        return;
    }
    /* Over the high-water mark: the surplus is released in batches. */
    sl->next = k->pending;
    k->pending = sl;
    if (++k->npending == RELEASE_BATCH) release_pending(pool, k);
}

void coop__stack_set_name(const coop__stack *s, const char *name) {
    ((slot *)s->meta)->name = name;
}
