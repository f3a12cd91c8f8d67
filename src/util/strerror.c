/*
 * strerror.c — coop_strerror: the text of a coop result. The errors coop
 * gives a meaning of its own to (docs/design.md, "Errors") get that
 * meaning; every other errno falls back to the C library's text.
 * Thread-safe: returns static strings only.
 */
#include <errno.h>
#include <string.h>
#include "coop.h"

const char *coop_strerror(int err) {
    if (err < 0) err = -err;
    switch (err) {
    case 0: return "success";
    case ECANCELED: return "ECANCELED: cancelled (by a cancel scope, a nursery or coop_cancel)";
    case ETIMEDOUT: return "ETIMEDOUT: a deadline passed";
    case EPERM: return "EPERM: not allowed here (e.g. a suspending call outside a task)";
    case ESRCH: return "ESRCH: no such task (never existed, already joined or detached)";
    case EDEADLK: return "EDEADLK: the call would wait for itself";
    case EBUSY: return "EBUSY: already in use by another waiter";
    case EAGAIN: return "EAGAIN: would have to wait (try-variant)";
    case EPIPE: return "EPIPE: closed by the other side";
    case EBADF: return "EBADF: bad or closed file descriptor";
    case EINVAL: return "EINVAL: invalid argument";
    case ENOMEM: return "ENOMEM: out of memory";
    case ESHUTDOWN: return "ESHUTDOWN: the loop or pool has shut down";
    case EMSGSIZE: return "EMSGSIZE: record larger than the allowed maximum";
    default: break;
    }
    /* glibc's static description table: unlike strerror it never writes a
     * shared buffer, so this stays thread-safe. */
#if defined(__GLIBC__)
    const char *s = strerrordesc_np(err);
    return s ? s : "unknown error";
#else
    return strerror(err);
#endif
}
