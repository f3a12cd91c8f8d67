/* The intrusive timer heap against a brute-force reference, at random. */
#include "test.h"
#include "util/heap.h"
#include "util/list.h"

typedef struct item {
    coop__heap_node node;
    long key;
    int in;
} item;

static int less(const coop__heap_node *a, const coop__heap_node *b) {
    return COOP_CONTAINER_OF(a, item, node)->key < COOP_CONTAINER_OF(b, item, node)->key;
}

/* Every parent <= its children, every child's parent link right, count right. */
static size_t check_subtree(const coop__heap_node *n, const coop__heap_node *parent) {
    if (!n) return 0;
    CHECK(n->parent == parent);
    if (parent) CHECK(!less(n, parent));
    return 1 + check_subtree(n->left, n) + check_subtree(n->right, n);
}

static unsigned long rng = 88172645463325252ull;
static unsigned long next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

TEST(heap_random_operations_match_a_reference) {
    enum { N = 2000, OPS = 60000 };
    static item items[N];
    coop__heap h;
    coop__heap_init(&h);
    size_t live = 0;
    for (int op = 0; op < OPS; op++) {
        item *it = &items[next_rand() % N];
        unsigned what = (unsigned)(next_rand() % 3);
        if (!it->in && what != 2) {
            it->key = (long)(next_rand() % 1000); /* many ties */
            coop__heap_insert(&h, &it->node, less);
            it->in = 1;
            live++;
        } else if (it->in && what == 1) {
            coop__heap_remove(&h, &it->node, less);
            it->in = 0;
            live--;
        } else if (h.root) {
            /* pop the minimum: it must be the smallest key of all items in */
            item *m = COOP_CONTAINER_OF(h.root, item, node);
            for (int i = 0; i < N; i++)
                if (items[i].in) CHECK(items[i].key >= m->key);
            coop__heap_remove(&h, h.root, less);
            m->in = 0;
            live--;
        }
        CHECK_EQ(h.count, live);
        if (op % 997 == 0) CHECK_EQ(check_subtree(h.root, NULL), live);
    }
    while (h.root) {
        long k = COOP_CONTAINER_OF(h.root, item, node)->key;
        coop__heap_remove(&h, h.root, less);
        if (h.root) CHECK(COOP_CONTAINER_OF(h.root, item, node)->key >= k);
    }
    CHECK_EQ(h.count, 0);
}

TEST(list_push_shift_remove) {
    coop__list l, a, b, c;
    coop__list_init(&l);
    coop__list_init(&a);
    CHECK(coop__list_empty(&l));
    CHECK(!coop__list_linked(&a));
    coop__list_push(&l, &a);
    coop__list_push(&l, &b);
    coop__list_push(&l, &c);
    CHECK_EQ(coop__list_count(&l), 3);
    coop__list_remove(&b);
    coop__list_remove(&b); /* harmless twice */
    CHECK(coop__list_shift(&l) == &a);
    CHECK(coop__list_shift(&l) == &c);
    CHECK(coop__list_shift(&l) == NULL);
}

TEST(strerror_names_coop_errors_and_passes_others_through) {
    CHECK(strstr(coop_strerror(-ECANCELED), "ECANCELED") != NULL);
    CHECK(strstr(coop_strerror(ETIMEDOUT), "ETIMEDOUT") != NULL); /* either sign */
    CHECK_STR(coop_strerror(0), "success");
    CHECK(coop_strerror(-EIO) != NULL && strlen(coop_strerror(-EIO)) > 0);
    CHECK_STR(coop_strerror(-100000), "unknown error");
}

TEST(alloc_fault_injection_fails_exactly_the_nth) {
    long before = coop__alloc_live();
    coop__alloc_fail_at(2);
    void *a = coop__malloc(8), *b = coop__malloc(8), *c = coop__malloc(8);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK(c != NULL);
    coop__free(a);
    coop__free(c);
    CHECK_EQ(coop__alloc_live(), before);
}
