/* The module author's side of res.wit (interface/tests/bindgen_c.rs): counts what it creates and
 * destroys, and aborts when an object is destroyed twice or while a call runs on it. */
#include "g_iface.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC 0x5eedc0deu

struct g_cell {
    uint32_t magic;
    uint32_t v;
    int busy; /* calls running on it (slow) */
};

struct g_bag {
    uint32_t magic;
    uint32_t count;
};

typedef struct inst {
    g_resources *t;
    uint32_t cells, bags;
} inst;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int entered, released;
static unsigned long destroyed_cells, destroyed_bags;

void *test_instance_new(void)
{
    inst *in = calloc(1, sizeof *in);
    if (in == NULL)
        return NULL;
    in->t = g_resources_new();
    if (in->t == NULL) {
        free(in);
        return NULL;
    }
    return in;
}

void test_instance_free(void *instance)
{
    inst *in = instance;
    g_resources_free(in->t, in);
    if (in->cells != 0 || in->bags != 0)
        abort(); /* g_resources_free left objects alive */
    free(in);
}

void test_wait_entered(void)
{
    pthread_mutex_lock(&mu);
    while (!entered)
        pthread_cond_wait(&cv, &mu);
    entered = 0;
    pthread_mutex_unlock(&mu);
}

void test_release(void)
{
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

void test_stat(char *buf, size_t len)
{
    pthread_mutex_lock(&mu);
    snprintf(buf, len, "destroyed %lu %lu", destroyed_cells, destroyed_bags);
    pthread_mutex_unlock(&mu);
}

g_resources *g_instance_resources(void *instance)
{
    return ((inst *)instance)->t;
}

static g_cell *cell(void *instance, uint32_t v)
{
    g_cell *c = malloc(sizeof *c);
    if (c == NULL)
        return NULL;
    c->magic = MAGIC;
    c->v = v;
    c->busy = 0;
    pthread_mutex_lock(&mu);
    ((inst *)instance)->cells++;
    pthread_mutex_unlock(&mu);
    return c;
}

static g_bag *bag(void *instance)
{
    g_bag *b = malloc(sizeof *b);
    if (b == NULL)
        return NULL;
    b->magic = MAGIC;
    b->count = 0;
    pthread_mutex_lock(&mu);
    ((inst *)instance)->bags++;
    pthread_mutex_unlock(&mu);
    return b;
}

void g_cell_destroy(void *instance, g_cell *self)
{
    if (self->magic != MAGIC || self->busy != 0)
        abort();
    self->magic = 0;
    pthread_mutex_lock(&mu);
    ((inst *)instance)->cells--;
    destroyed_cells++;
    pthread_mutex_unlock(&mu);
    free(self);
}

void g_bag_destroy(void *instance, g_bag *self)
{
    if (self->magic != MAGIC)
        abort();
    self->magic = 0;
    pthread_mutex_lock(&mu);
    ((inst *)instance)->bags--;
    destroyed_bags++;
    pthread_mutex_unlock(&mu);
    free(self);
}

#define NEW_OR_FAIL(var, expr)                                                                    \
    do {                                                                                          \
        var = (expr);                                                                             \
        if (var == NULL)                                                                          \
            return g_fail(call, 12, "out of memory");                                             \
    } while (0)

int32_t g_cell_new(g_call *call, const uint32_t *v, g_cell **out)
{
    NEW_OR_FAIL(*out, cell(call->instance, *v));
    return 0;
}

int32_t g_cell_get(g_call *call, g_cell *self, uint32_t *out)
{
    (void)call;
    if (self->magic != MAGIC)
        abort();
    *out = self->v;
    return 0;
}

int32_t g_cell_split(g_call *call, g_cell *self, const uint32_t *n, g_list_cell *out)
{
    g_cell **items = g_alloc(call, (*n + 1) * sizeof *items);
    if (items == NULL)
        return g_fail(call, 12, "out of memory");
    for (uint32_t k = 0; k < *n; k++) {
        items[k] = cell(call->instance, self->v + k + 1);
        if (items[k] == NULL) {
            for (uint32_t j = 0; j < k; j++)
                g_cell_destroy(call->instance, items[j]);
            return g_fail(call, 12, "out of memory");
        }
    }
    out->ptr = items;
    out->len = *n;
    return 0;
}

int32_t g_cell_maybe(g_call *call, g_cell *self, const bool *some, g_option_cell *out)
{
    out->has = *some;
    if (*some)
        NEW_OR_FAIL(out->val, cell(call->instance, self->v * 2));
    return 0;
}

int32_t g_cell_make(g_call *call, const uint32_t *v, g_result_cell_string *out)
{
    if (*v == 0) {
        out->is_err = true;
        out->val.err.ptr = "zero";
        out->val.err.len = 4;
        return 0;
    }
    out->is_err = false;
    NEW_OR_FAIL(out->val.ok, cell(call->instance, *v));
    return 0;
}

int32_t g_cell_pair(g_call *call, g_cell *self, const g_string *label, g_pair *out)
{
    static const char bad[] = {'x', (char)0xff};
    NEW_OR_FAIL(out->a, cell(call->instance, self->v + 100));
    out->b.has = true;
    out->b.val = bag(call->instance);
    if (out->b.val == NULL) {
        g_cell_destroy(call->instance, out->a);
        return g_fail(call, 12, "out of memory");
    }
    out->label = *label;
    if (label->len == 3 && memcmp(label->ptr, "bad", 3) == 0) {
        out->label.ptr = bad;
        out->label.len = sizeof bad;
    }
    return 0;
}

int32_t g_cell_slow(g_call *call, g_cell *self, uint32_t *out)
{
    (void)call;
    self->busy++;
    pthread_mutex_lock(&mu);
    entered = 1;
    released = 0;
    pthread_cond_broadcast(&cv);
    while (!released)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    *out = self->v;
    self->busy--;
    return 0;
}

/* 0: [new, NULL, new]; 1: [c, c]; 2: [new, self]; 3: makes two, destroys them and fails;
 * 4: 1000 new cells; 5: a NULL list of length 2; 6: [c, c, new, NULL]. */
int32_t g_cell_bad(g_call *call, g_cell *self, const uint8_t *mode, g_list_cell *out)
{
    g_cell **items = g_alloc(call, 1000 * sizeof *items);
    if (items == NULL)
        return g_fail(call, 12, "out of memory");
    out->ptr = items;
    switch (*mode) {
    case 0:
        NEW_OR_FAIL(items[0], cell(call->instance, 1));
        items[1] = NULL;
        NEW_OR_FAIL(items[2], cell(call->instance, 2));
        out->len = 3;
        return 0;
    case 1:
        NEW_OR_FAIL(items[0], cell(call->instance, 1));
        items[1] = items[0];
        out->len = 2;
        return 0;
    case 2:
        NEW_OR_FAIL(items[0], cell(call->instance, 1));
        items[1] = self;
        out->len = 2;
        return 0;
    case 3:
        NEW_OR_FAIL(items[0], cell(call->instance, 1));
        NEW_OR_FAIL(items[1], cell(call->instance, 2));
        out->len = 2;
        /* a failing author destroys what it made: the generated code leaves the output alone */
        g_cell_destroy(call->instance, items[0]);
        g_cell_destroy(call->instance, items[1]);
        return g_fail(call, 5, "the author failed after making two cells");
    case 4:
        for (size_t k = 0; k < 1000; k++)
            NEW_OR_FAIL(items[k], cell(call->instance, (uint32_t)k));
        out->len = 1000;
        return 0;
    case 6:
        NEW_OR_FAIL(items[0], cell(call->instance, 1));
        items[1] = items[0];
        NEW_OR_FAIL(items[2], cell(call->instance, 2));
        items[3] = NULL;
        out->len = 4;
        return 0;
    default:
        out->ptr = NULL;
        out->len = 2;
        return 0;
    }
}

int32_t g_bag_new(g_call *call, g_bag **out)
{
    NEW_OR_FAIL(*out, bag(call->instance));
    return 0;
}

int32_t g_bag_put(g_call *call, g_bag *self, g_cell *c, uint32_t *out)
{
    (void)call;
    if (self->magic != MAGIC || c->magic != MAGIC)
        abort();
    self->count += c->v;
    *out = self->count;
    return 0;
}

int32_t g_bag_both(g_call *call, g_cell *a, g_bag *b, g_cell *c, g_tuple_u32_u32_u32 *out)
{
    (void)call;
    out->f0 = a->v;
    out->f1 = b->count;
    out->f2 = c->v;
    return 0;
}

int32_t g_pick(g_call *call, const uint8_t *which, g_either *out)
{
    switch (*which) {
    case 0:
        out->tag = G_EITHER_ONE;
        NEW_OR_FAIL(out->val.one, cell(call->instance, 7));
        return 0;
    case 1:
        out->tag = G_EITHER_OTHER;
        NEW_OR_FAIL(out->val.other, bag(call->instance));
        return 0;
    case 2:
        out->tag = G_EITHER_NOTHING;
        return 0;
    default:
        out->tag = 9; /* invalid output, holding no object */
        return 0;
    }
}

int32_t g_two(g_call *call, g_tuple_cell_list_bag *out)
{
    static g_bag *bags[2];
    NEW_OR_FAIL(out->f0, cell(call->instance, 3));
    NEW_OR_FAIL(bags[0], bag(call->instance));
    NEW_OR_FAIL(bags[1], bag(call->instance));
    out->f1.ptr = bags;
    out->f1.len = 2;
    return 0;
}

int32_t g_live(g_call *call, g_tuple_u32_u32 *out)
{
    inst *in = call->instance;
    pthread_mutex_lock(&mu);
    out->f0 = in->cells;
    out->f1 = in->bags;
    pthread_mutex_unlock(&mu);
    return 0;
}
