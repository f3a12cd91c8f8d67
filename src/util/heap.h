/*
 * heap.h — intrusive binary min-heap (header-only), the timer queue.
 *
 * Nodes are linked by pointers (parent/left/right) rather than stored in an
 * array, so inserting never allocates and therefore never fails: a sleep
 * cannot return -ENOMEM. The shape is that of a complete binary tree; the
 * path to position n (1-based) is read from the bits of n below its top
 * bit. Insert, remove and pop are O(log n); min is O(1).
 *
 * The ordering is given by a "less" function; timers order by (when, seq)
 * so that equal deadlines fire in the order they were set.
 */
#ifndef COOP_UTIL_HEAP_H
#define COOP_UTIL_HEAP_H

#include <stddef.h>

typedef struct coop__heap_node {
    struct coop__heap_node *left;   /* left child or NULL */
    struct coop__heap_node *right;  /* right child or NULL */
    struct coop__heap_node *parent; /* parent or NULL for the root */
} coop__heap_node;

typedef int (*coop__heap_less)(const coop__heap_node *a, const coop__heap_node *b);

typedef struct coop__heap {
    coop__heap_node *root; /* minimum, or NULL when empty */
    size_t count;          /* number of nodes */
} coop__heap;

static inline void coop__heap_init(coop__heap *h) {
    h->root = NULL;
    h->count = 0;
}

static inline coop__heap_node *coop__heap_min(const coop__heap *h) { return h->root; }

/* Swap a node with its parent p (a is p's child), fixing all links. */
static inline void coop__heap_swap(coop__heap *h, coop__heap_node *p, coop__heap_node *c) {
    coop__heap_node t = *p, *sibling;
    *p = *c;
    *c = t;
    p->parent = c;
    if (c->left == c) {
        c->left = p;
        sibling = c->right;
    } else {
        c->right = p;
        sibling = c->left;
    }
    if (sibling) sibling->parent = c;
    if (p->left) p->left->parent = p;
    if (p->right) p->right->parent = p;
    if (!c->parent)
        h->root = c;
    else if (c->parent->left == p)
        c->parent->left = c;
    else
        c->parent->right = c;
}

/* Find the link (child slot) of position n and its parent. */
static inline coop__heap_node **coop__heap_slot(coop__heap *h, size_t n, coop__heap_node **parent) {
    size_t path = 0, k = 0;
    for (; n >= 2; n /= 2, k++) path = (path << 1) | (n & 1);
    coop__heap_node **slot = &h->root;
    *parent = NULL;
    while (k-- > 0) {
        *parent = *slot;
        slot = (path & 1) ? &(*slot)->right : &(*slot)->left;
        path >>= 1;
    }
    return slot;
}

static inline void coop__heap_insert(coop__heap *h, coop__heap_node *n, coop__heap_less less) {
    n->left = n->right = NULL;
    coop__heap_node *parent;
    coop__heap_node **slot = coop__heap_slot(h, h->count + 1, &parent);
    *slot = n;
    n->parent = parent;
    h->count++;
    while (n->parent && less(n, n->parent)) coop__heap_swap(h, n->parent, n);
}

static inline void coop__heap_remove(coop__heap *h, coop__heap_node *n, coop__heap_less less) {
    if (h->count == 0) return;
    coop__heap_node *parent;
    coop__heap_node **slot = coop__heap_slot(h, h->count, &parent);
    coop__heap_node *last = *slot;
    *slot = NULL;
    h->count--;
    if (last == n) {
        if (n == h->root) h->root = NULL;
        return;
    }
    /* Put last in n's place. */
    last->left = n->left;
    last->right = n->right;
    last->parent = n->parent;
    if (last->left) last->left->parent = last;
    if (last->right) last->right->parent = last;
    if (!n->parent)
        h->root = last;
    else if (n->parent->left == n)
        n->parent->left = last;
    else
        n->parent->right = last;
    /* Sift down, then up (only one of them moves it). */
    for (;;) {
        coop__heap_node *m = last;
        if (last->left && less(last->left, m)) m = last->left;
        if (last->right && less(last->right, m)) m = last->right;
        if (m == last) break;
        coop__heap_swap(h, last, m);
    }
    while (last->parent && less(last, last->parent)) coop__heap_swap(h, last->parent, last);
}

#endif
