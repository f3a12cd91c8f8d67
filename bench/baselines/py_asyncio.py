"""py_asyncio.py — Python's asyncio (and uvloop's loop) as the baselines of
coop: the library coop brings to C is what asyncio is to Python, so the same
measures are taken here. Run by bench/run.sh as

    /usr/bin/python3 bench/baselines/py_asyncio.py asyncio|uvloop

and prints the rows of bench/bench.h (impl "asyncio" or "uvloop"), honouring
COOP_BENCH_QUICK and COOP_BENCH_ONLY. A loop that cannot be imported prints
every row as skipped. Measures:

    yield, 2 tasks        await asyncio.sleep(0) in 2 tasks (ns per sleep(0))
    yield, 1000 tasks     the same with 1000 tasks
    spawn+run+join        await asyncio.create_task(trivial()), one at a time
    100k x sleep 1 ms     100,000 tasks each awaiting asyncio.sleep(0.001),
                          gathered: wall time
    to_thread round trip  await asyncio.to_thread(trivial), one at a time
    process pool round trip  await loop.run_in_executor(ProcessPoolExecutor,
                          trivial), one at a time, pool of 2 started before
"""

import asyncio
import concurrent.futures
import os
import statistics
import sys
import time

QUICK = os.environ.get("COOP_BENCH_QUICK", "0") not in ("", "0")
ONLY = os.environ.get("COOP_BENCH_ONLY", "")
MEASURES = [
    "yield, 2 tasks",
    "yield, 1000 tasks",
    "spawn+run+join",
    "100k x sleep 1 ms",
    "to_thread round trip",
    "process pool round trip",
]


def iters(normal):
    """bench_iters of bench.h: a tenth of the work in quick mode."""
    return max(1, normal // 10) if QUICK else normal


def runs():
    """Python is slow to measure: 3 runs (1 in quick mode) each median."""
    return 1 if QUICK else 3


def selected(measure):
    return ONLY == "" or ONLY in measure


def row(measure, impl, value, unit):
    prec = 0 if value >= 100 else 1 if value >= 10 else 2 if value >= 1 else 3
    print(f"BENCH\t{measure}\t{impl}\t{value:.{prec}f}\t{unit}", flush=True)


async def median_of(one_run, count=None):
    """Up to count (or runs()) runs, but no new run once the runs so far took
    longer than the budget (bench_more of bench.h); their median."""
    budget_ns = int(os.environ.get("COOP_BENCH_BUDGET_MS") or 3000) * 1000000
    start, figures = time.perf_counter_ns(), []
    while not figures or (len(figures) < (count or runs())
                          and time.perf_counter_ns() - start < budget_ns):
        figures.append(await one_run())
    return statistics.median(figures)


def trivial():
    return 0


async def yield_cost(tasks, per_task):
    async def yielder():
        for _ in range(per_task):
            await asyncio.sleep(0)

    async def one_run():
        start = time.perf_counter_ns()
        await asyncio.gather(*(yielder() for _ in range(tasks)))
        return (time.perf_counter_ns() - start) / (tasks * per_task)

    return await median_of(one_run)


async def spawn_cost(n):
    async def child():
        return 0

    async def one_run():
        start = time.perf_counter_ns()
        for _ in range(n):
            await asyncio.create_task(child())
        return (time.perf_counter_ns() - start) / n

    return await median_of(one_run)


async def sleepers_ms(n):
    async def one_run():
        start = time.perf_counter_ns()
        await asyncio.gather(*(asyncio.sleep(0.001) for _ in range(n)))
        return (time.perf_counter_ns() - start) / 1e6

    return await median_of(one_run)


async def to_thread_cost(n):
    await asyncio.to_thread(trivial)  # start the default executor's thread

    async def one_run():
        start = time.perf_counter_ns()
        for _ in range(n):
            await asyncio.to_thread(trivial)
        return (time.perf_counter_ns() - start) / n

    return await median_of(one_run)


async def process_pool_cost(n):
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        # Start both workers outside the timed part.
        await asyncio.gather(*(loop.run_in_executor(pool, trivial) for _ in range(4)))

        async def one_run():
            start = time.perf_counter_ns()
            for _ in range(n):
                await loop.run_in_executor(pool, trivial)
            return (time.perf_counter_ns() - start) / n

        return await median_of(one_run)


async def main(impl):
    if selected("yield, 2 tasks"):
        row("yield, 2 tasks", impl, await yield_cost(2, iters(10000)), "ns/yield")
    if selected("yield, 1000 tasks"):
        row("yield, 1000 tasks", impl, await yield_cost(1000, iters(100)), "ns/yield")
    if selected("spawn+run+join"):
        row("spawn+run+join", impl, await spawn_cost(iters(10000)), "ns/task")
    if selected("100k x sleep 1 ms"):
        row("100k x sleep 1 ms", impl, await sleepers_ms(iters(100000)), "ms")
    if selected("to_thread round trip"):
        row("to_thread round trip", impl, await to_thread_cost(iters(2000)), "ns/job")
    if selected("process pool round trip"):
        row("process pool round trip", impl, await process_pool_cost(iters(1000)), "ns/job")


def skip_all(impl, reason):
    for m in MEASURES:
        if selected(m):
            print(f"BENCH\t{m}\t{impl}\tskipped\t{reason}", flush=True)


if __name__ == "__main__":
    impl = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            skip_all(impl, "python3-uvloop not installed")
            sys.exit(0)
        uvloop.install()
    elif impl != "asyncio":
        sys.exit(f"usage: {sys.argv[0]} asyncio|uvloop")
    asyncio.run(main(impl))
