/*
 * coop.h — cooperative scheduling for C: stackful tasks on a per-thread
 * event loop, with the styles of asyncio, trio, generators, greenlet and
 * gevent. This umbrella header includes every part of the public API, in
 * the order of the layers in src/ (see docs/design.md).
 */
#ifndef COOP_H
#define COOP_H

#include "coop/sched.h"   /* errors, time, loop, tasks, callbacks, posting */
#include "coop/scope.h"   /* cancel scopes, deadlines, nurseries */
#include "coop/io.h"      /* fd waits and nonblocking read/write/accept/connect */
#include "coop/sync.h"    /* event, lock, condition, semaphore, barrier, waitgroup, atomic sections */
#include "coop/chan.h"    /* channels, queues, select */
#include "coop/gen.h"     /* generators, greenlets, actors */
#include "coop/offload.h" /* thread pools, process pool */
#include "coop/bridge.h"  /* run_in_loop, loop threads, mailboxes between threads */
#include "coop/fs.h"      /* files */
#include "coop/proc.h"    /* subprocesses, signals */
#include "coop/dns.h"     /* name resolution (getaddrinfo on the dns pool) */
#include "coop/net.h"     /* sockets, streams, servers */
#include "coop/debug.h"   /* watchdog, stats, task dump */

#endif
