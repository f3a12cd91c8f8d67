/*
 * list.h — intrusive circular doubly-linked list (header-only).
 *
 * A list head is a node whose next/prev point to itself when empty. Nodes
 * embed coop__list and are recovered with COOP_CONTAINER_OF. Unlinking a
 * node resets it to the empty (self-linked) state, so "is linked" is a
 * cheap test and double unlink is harmless.
 */
#ifndef COOP_UTIL_LIST_H
#define COOP_UTIL_LIST_H

#include <stddef.h>

typedef struct coop__list {
    struct coop__list *next; /* next node, or the head */
    struct coop__list *prev; /* previous node, or the head */
} coop__list;

#define COOP_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void coop__list_init(coop__list *l) { l->next = l->prev = l; }
static inline int coop__list_empty(const coop__list *l) { return l->next == l; }
static inline int coop__list_linked(const coop__list *n) { return n->next != n; }

static inline void coop__list_insert_before(coop__list *pos, coop__list *n) {
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}
/* Append n at the tail of list l. */
static inline void coop__list_push(coop__list *l, coop__list *n) { coop__list_insert_before(l, n); }

static inline void coop__list_remove(coop__list *n) {
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* Remove and return the first node, or NULL. */
static inline coop__list *coop__list_shift(coop__list *l) {
    coop__list *n = l->next;
    if (n == l) return NULL;
    coop__list_remove(n);
    return n;
}

static inline size_t coop__list_count(const coop__list *l) {
    size_t n = 0;
    for (const coop__list *p = l->next; p != l; p = p->next) n++;
    return n;
}

#define coop__list_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#endif
