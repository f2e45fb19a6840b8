/* The test's own implementation of plugins/c/counter.wit on the generated C bindings
 * (interface/tests/bindgen_c.rs); the bundled module is plugins/c/counter.c, written by hand. */
#define _POSIX_C_SOURCE 200809L
#include "counter_iface.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct counter_counter {
    uint64_t value;
    char *name; /* NULL: none */
    size_t name_len;
    int busy; /* slow-get running on it */
};

typedef struct inst {
    counter_resources *t;
    uint32_t live;
    const bh_host_api *api; /* set by module_counter.c (the real host), unused by the driver */
} inst;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int entered;
static uint64_t destroyed_total;

void *test_instance_new(void)
{
    inst *in = calloc(1, sizeof *in);
    if (in == NULL)
        return NULL;
    in->t = counter_resources_new();
    if (in->t == NULL) {
        free(in);
        return NULL;
    }
    return in;
}

void test_instance_free(void *instance)
{
    inst *in = instance;
    counter_resources_free(in->t, in);
    if (in->live != 0)
        abort();
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
}

void test_stat(char *buf, size_t len)
{
    pthread_mutex_lock(&mu);
    snprintf(buf, len, "destroyed %llu", (unsigned long long)destroyed_total);
    pthread_mutex_unlock(&mu);
}

counter_resources *counter_instance_resources(void *instance)
{
    return ((inst *)instance)->t;
}

/* For the direct entries of live and destroyed-total (docs/TYPED.md, "Direct calls"). */
const bh_host_api *counter_instance_api(void *instance)
{
    return ((inst *)instance)->api;
}

static counter_counter *make(void *instance, uint64_t value, const counter_string *name)
{
    counter_counter *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->value = value;
    if (name != NULL) {
        c->name = malloc(name->len + 1);
        if (c->name == NULL) {
            free(c);
            return NULL;
        }
        memcpy(c->name, name->ptr, name->len);
        c->name_len = name->len;
    }
    pthread_mutex_lock(&mu);
    ((inst *)instance)->live++;
    pthread_mutex_unlock(&mu);
    return c;
}

void counter_counter_destroy(void *instance, counter_counter *self)
{
    if (self->busy != 0)
        abort(); /* destroyed under a running call */
    pthread_mutex_lock(&mu);
    ((inst *)instance)->live--;
    destroyed_total++;
    pthread_mutex_unlock(&mu);
    free(self->name);
    free(self);
}

int32_t counter_counter_new(counter_call *call, const uint64_t *start, counter_counter **out)
{
    *out = make(call->instance, *start, NULL);
    return *out != NULL ? 0 : counter_fail(call, 12, "out of memory");
}

int32_t counter_counter_add(counter_call *call, counter_counter *self, const uint64_t *n,
                            counter_result_u64_string *out)
{
    (void)call;
    if (self->value > UINT64_MAX - *n) {
        out->is_err = true;
        out->val.err.ptr = "overflow";
        out->val.err.len = 8;
        return 0;
    }
    self->value += *n;
    out->val.ok = self->value;
    return 0;
}

int32_t counter_counter_get(counter_call *call, counter_counter *self, uint64_t *out)
{
    (void)call;
    *out = self->value;
    return 0;
}

int32_t counter_counter_name(counter_call *call, counter_counter *self, counter_option_string *out)
{
    (void)call;
    out->has = self->name != NULL;
    out->val.ptr = self->name;
    out->val.len = self->name_len;
    return 0;
}

int32_t counter_counter_fork(counter_call *call, counter_counter *self, const uint64_t *delta,
                             counter_counter **out)
{
    *out = make(call->instance, self->value + *delta, NULL);
    return *out != NULL ? 0 : counter_fail(call, 12, "out of memory");
}

int32_t counter_counter_slow_get(counter_call *call, counter_counter *self, const uint32_t *ms,
                                 uint64_t *out)
{
    (void)call;
    self->busy++;
    pthread_mutex_lock(&mu);
    entered = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    uint32_t wait = *ms > 10000 ? 10000 : *ms;
    struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    *out = self->value;
    self->busy--;
    return 0;
}

int32_t counter_counter_named(counter_call *call, const counter_string *name, const uint64_t *start,
                              counter_result_counter_string *out)
{
    if (name->len == 0) {
        out->is_err = true;
        out->val.err.ptr = "empty name";
        out->val.err.len = 10;
        return 0;
    }
    out->val.ok = make(call->instance, *start, name);
    return out->val.ok != NULL ? 0 : counter_fail(call, 12, "out of memory");
}

int32_t counter_counter_many(counter_call *call, const counter_list_u64 *starts,
                             counter_list_counter *out)
{
    counter_counter **items = counter_alloc(call, starts->len * sizeof *items);
    if (items == NULL)
        return counter_fail(call, 12, "out of memory");
    for (size_t k = 0; k < starts->len; k++) {
        items[k] = make(call->instance, starts->ptr[k], NULL);
        if (items[k] == NULL) {
            for (size_t j = 0; j < k; j++)
                counter_counter_destroy(call->instance, items[j]);
            return counter_fail(call, 12, "out of memory");
        }
    }
    out->ptr = items;
    out->len = starts->len;
    return 0;
}

int32_t counter_sum(counter_call *call, counter_counter *a, counter_counter *b, uint64_t *out)
{
    (void)call;
    *out = a->value + b->value;
    return 0;
}

int32_t counter_live(counter_call *call, uint32_t *out)
{
    pthread_mutex_lock(&mu);
    *out = ((inst *)call->instance)->live;
    pthread_mutex_unlock(&mu);
    return 0;
}

int32_t counter_destroyed_total(counter_call *call, uint64_t *out)
{
    (void)call;
    pthread_mutex_lock(&mu);
    *out = destroyed_total;
    pthread_mutex_unlock(&mu);
    return 0;
}
