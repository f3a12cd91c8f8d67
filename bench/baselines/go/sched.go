// sched.go — Go (GOMAXPROCS=1, so one thread runs every goroutine, as one
// coop loop runs its tasks) as the baseline of coop's scheduler and
// channels. bench/run.sh builds it with `go build` into the build directory
// (standard library only) and runs it; it prints the same rows as the C
// programs (see bench/bench.h), honouring COOP_BENCH_QUICK and
// COOP_BENCH_ONLY. Measures:
//
//	spawn+run+join      go f() + sync.WaitGroup wait, one goroutine at a time
//	yield, 2 tasks      runtime.Gosched() with 2 goroutines (ns per Gosched)
//	yield, 1000 tasks   the same with 1000 goroutines
//	100k x sleep 1 ms   100,000 goroutines each time.Sleep(1 ms), wall time
//	chan ping-pong      two goroutines bouncing a value over unbuffered
//	                    channels: ns per message (one send matched by one
//	                    receive; a round trip is two messages)
//	parked task memory  VmRSS+VmPTE growth with 100,000 goroutines blocked
//	                    on a channel, per goroutine
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var quick = os.Getenv("COOP_BENCH_QUICK") != "" && os.Getenv("COOP_BENCH_QUICK") != "0"

// iters is bench_iters of bench.h: a tenth of the work in quick mode.
func iters(normal int) int {
	if quick && normal >= 10 {
		return normal / 10
	}
	return normal
}

// runs is bench_runs of bench.h.
func runs() int {
	if quick {
		return 3
	}
	return 5
}

func selected(measure string) bool {
	only := os.Getenv("COOP_BENCH_ONLY")
	return only == "" || strings.Contains(measure, only)
}

// row prints a BENCH row with the number formatting of bench_row.
func row(measure string, value float64, unit string) {
	prec := 3
	switch {
	case value >= 100:
		prec = 0
	case value >= 10:
		prec = 1
	case value >= 1:
		prec = 2
	}
	fmt.Printf("BENCH\t%s\tgo\t%.*f\t%s\n", measure, prec, value, unit)
}

// median runs f up to runs() times, but no new run once the runs so far
// took longer than the budget (bench_more of bench.h), and returns the
// median of its figures.
func median(f func() float64) float64 {
	budget := 3000 * time.Millisecond
	if ms, err := strconv.Atoi(os.Getenv("COOP_BENCH_BUDGET_MS")); err == nil {
		budget = time.Duration(ms) * time.Millisecond
	}
	start := time.Now()
	var v []float64
	for len(v) == 0 || (len(v) < runs() && time.Since(start) < budget) {
		v = append(v, f())
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func perOp(start time.Time, ops int) float64 {
	return float64(time.Since(start).Nanoseconds()) / float64(ops)
}

func benchSpawn() {
	n := iters(100000)
	row("spawn+run+join", median(func() float64 {
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { wg.Done() }()
			wg.Wait()
		}
		return perOp(start, n)
	}), "ns/task")
}

func benchYield(tasks, perTask int, measure string) {
	row(measure, median(func() float64 {
		var wg sync.WaitGroup
		wg.Add(tasks)
		start := time.Now()
		for t := 0; t < tasks; t++ {
			go func() {
				for i := 0; i < perTask; i++ {
					runtime.Gosched()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		return perOp(start, tasks*perTask)
	}), "ns/yield")
}

func benchSleepers() {
	n := iters(100000)
	row("100k x sleep 1 ms", median(func() float64 {
		var wg sync.WaitGroup
		wg.Add(n)
		start := time.Now()
		for i := 0; i < n; i++ {
			go func() {
				time.Sleep(time.Millisecond)
				wg.Done()
			}()
		}
		wg.Wait()
		return float64(time.Since(start).Nanoseconds()) / 1e6
	}), "ms")
}

func benchChan() {
	n := iters(250000)
	row("chan ping-pong", median(func() float64 {
		ping, pong := make(chan int), make(chan int)
		go func() {
			for v := range ping {
				pong <- v
			}
			close(pong)
		}()
		start := time.Now()
		for i := 0; i < n; i++ {
			ping <- i
			<-pong
		}
		ns := perOp(start, 2*n)
		close(ping)
		<-pong
		return ns
	}), "ns/msg")
}

// residentKiB is bench_resident_kib of bench.h: VmRSS + VmPTE in KiB.
func residentKiB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	total := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmPTE:") {
			fields := strings.Fields(line)
			if v, err := strconv.Atoi(fields[1]); err == nil {
				total += v
			}
		}
	}
	return total
}

func benchParkedMemory() {
	n := iters(100000)
	runtime.GC()
	before := residentKiB()
	release := make(chan struct{})
	var parked, done sync.WaitGroup
	parked.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			parked.Done()
			<-release
			done.Done()
		}()
	}
	parked.Wait()
	after := residentKiB()
	close(release)
	done.Wait()
	if before < 0 {
		fmt.Printf("BENCH\tparked task memory\tgo\tskipped\tno /proc/self/status\n")
		return
	}
	row("parked task memory", float64(after-before)/float64(n), "KiB/task")
}

func main() {
	runtime.GOMAXPROCS(1)
	// Memory first, while no earlier measure has left pages the runtime
	// would reuse (they would hide part of the cost).
	if selected("parked task memory") {
		benchParkedMemory()
	}
	if selected("spawn+run+join") {
		benchSpawn()
	}
	if selected("yield, 2 tasks") {
		benchYield(2, iters(250000), "yield, 2 tasks")
	}
	if selected("yield, 1000 tasks") {
		benchYield(1000, iters(500), "yield, 1000 tasks")
	}
	if selected("100k x sleep 1 ms") {
		benchSleepers()
	}
	if selected("chan ping-pong") {
		benchChan()
	}
}
