/* bench-link: boost_context */
/*
 * boost_context.cpp — boost.context's fcontext as the baseline of a yield
 * among many tasks: 1000 contexts resumed round-robin by a plain loop, the
 * least a scheduler could do (no queue, no state, no cancellation). Each
 * resume is a jump into the context and its jump back; the row is ns (and
 * instructions) per resume, the same unit as coop's ns per yield, since in
 * both one task gets one turn. The raw single switch against boost.context
 * is bench/core_switch.c's, not repeated here.
 * Stacks are 64 KiB mmap'd (lazily committed), like coop's default.
 */
#include <sys/mman.h>
#include <vector>
#include "bench.h"

#ifndef COOP_BENCH_NO_BOOST_CONTEXT
#if !__has_include(<boost/context/detail/fcontext.hpp>)
#define COOP_BENCH_NO_BOOST_CONTEXT 1
#endif
#endif

static const char *const MEASURE = "yield, 1000 tasks";

#ifdef COOP_BENCH_NO_BOOST_CONTEXT
int main() {
    bench_skip(MEASURE, "boost.context", "libboost-context-dev not installed");
    return 0;
}
#else
#include <boost/context/detail/fcontext.hpp>

namespace ctx = boost::context::detail;

enum { CONTEXTS = 1000, STACK = 64 * 1024 };

/* Each context gives the turn back at once, forever; it is abandoned (never
 * finished) when the program ends, which fcontext allows. */
static void context_body(ctx::transfer_t t) {
    for (;;) t = ctx::jump_fcontext(t.fctx, nullptr);
}

int main() {
    if (!bench_selected(MEASURE)) return 0;
    std::vector<ctx::fcontext_t> contexts(CONTEXTS);
    std::vector<void *> stacks(CONTEXTS);
    for (int i = 0; i < CONTEXTS; i++) {
        stacks[i] = mmap(nullptr, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stacks[i] == MAP_FAILED) bench_fail("mmap: %s", strerror(errno));
        contexts[i] = ctx::make_fcontext(static_cast<char *>(stacks[i]) + STACK, STACK, context_body);
    }
    /* One untimed round starts every context (and touches its stack). */
    for (int i = 0; i < CONTEXTS; i++) contexts[i] = ctx::jump_fcontext(contexts[i], nullptr).fctx;

    long rounds = bench_iters(2000, 20);
    bench_sampler s = {};
    while (bench_more(&s)) {
        bench_instr_begin();
        int64_t t0 = bench_now_ns();
        for (long k = 0; k < rounds; k++)
            for (int i = 0; i < CONTEXTS; i++) contexts[i] = ctx::jump_fcontext(contexts[i], nullptr).fctx;
        int64_t t1 = bench_now_ns();
        bench_instr_end(MEASURE, "boost.context", rounds * CONTEXTS);
        bench_sample(&s, static_cast<double>(t1 - t0) / static_cast<double>(rounds * CONTEXTS));
    }
    bench_row(MEASURE, "boost.context", bench_sampler_median(&s), "ns/yield");
    for (int i = 0; i < CONTEXTS; i++) munmap(stacks[i], STACK);
    return 0;
}
#endif
