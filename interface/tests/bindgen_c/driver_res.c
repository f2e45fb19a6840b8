/* Fake host for the resource tests of interface/tests/bindgen_c.rs: several module instances,
 * one call per input line, and one call at a time on a second thread. Compiled with
 * -DDISPATCH=<prefix>_dispatch. Commands (each answers one line):
 *   new                      -> inst K          (test_instance_new)
 *   free K                   -> freed           (test_instance_free: the author frees the table)
 *   call K INDEX HEX|-       -> ok HEX | fail CODE MESSAGE
 *   limit N                  -> limit           (the host's output limit from then on)
 *   async K INDEX HEX|-      -> started         (on a thread; once the author says it entered)
 *   release                  -> released        (test_release: lets that call return)
 *   join                     -> the async call's result line
 *   stat                     -> stat ...        (test_stat)
 *   failrealloc SIZE         -> armed           (the next realloc of SIZE bytes fails; linked
 *                                                with -Wl,--wrap=realloc) */
#include "bridgehost_module.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t DISPATCH(const bh_host_api *api, void *instance, uint32_t index, const uint8_t *input,
                 size_t input_len, bh_call_ctx *ctx);
void *test_instance_new(void);
void test_instance_free(void *instance);
void test_wait_entered(void);
void test_release(void);
void test_stat(char *buf, size_t len);

struct bh_call_ctx {
    uint8_t out[1 << 16];
    size_t out_len, limit;
    int failed;
    int32_t code;
    char msg[4200];
};

static int32_t h_write(bh_call_ctx *c, const uint8_t *data, size_t len)
{
    if (len > c->limit - c->out_len)
        return BH_API_TOO_LARGE;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return BH_API_OK;
}

static int32_t h_fail(bh_call_ctx *c, int32_t code, const char *msg, size_t len)
{
    if (c->failed++)
        return BH_API_INVALID;
    if (len >= sizeof c->msg)
        len = sizeof c->msg - 1;
    memcpy(c->msg, msg, len);
    c->msg[len] = '\0';
    c->code = code;
    return BH_API_OK;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static bh_host_api api;

/* realloc, but the next request of fail_size bytes fails once (0: none). */
void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t fail_size;

void *__wrap_realloc(void *ptr, size_t size)
{
    pthread_mutex_lock(&fail_mu);
    int fail = fail_size != 0 && size == fail_size;
    if (fail)
        fail_size = 0;
    pthread_mutex_unlock(&fail_mu);
    return fail ? NULL : __real_realloc(ptr, size);
}
static size_t limit = 1 << 16;

struct job {
    void *instance;
    uint32_t index;
    uint8_t *in;
    size_t n;
    bh_call_ctx ctx;
    char line[1 << 18];
};

static void run(struct job *j)
{
    memset(&j->ctx, 0, sizeof j->ctx);
    j->ctx.limit = limit;
    int32_t rc = DISPATCH(&api, j->instance, j->index, j->in, j->n, &j->ctx);
    free(j->in);
    j->in = NULL;
    if (rc == 0 && !j->ctx.failed) {
        int at = snprintf(j->line, sizeof j->line, "ok ");
        for (size_t k = 0; k < j->ctx.out_len; k++)
            at += snprintf(j->line + at, sizeof j->line - (size_t)at, "%02x", j->ctx.out[k]);
    } else if (rc != 0 && j->ctx.failed == 1 && j->ctx.code == rc) {
        snprintf(j->line, sizeof j->line, "fail %ld %s", (long)rc, j->ctx.msg);
    } else {
        snprintf(j->line, sizeof j->line, "inconsistent rc=%ld failed=%d code=%ld", (long)rc,
                 j->ctx.failed, (long)j->ctx.code);
    }
}

static void *thread_main(void *arg)
{
    run(arg);
    return NULL;
}

/* "K INDEX HEX" into j; 0 on success. */
static int parse(const char *args, void **instances, int count, struct job *j)
{
    static char hexs[1 << 18];
    int k;
    unsigned long index;
    if (sscanf(args, "%d %lu %s", &k, &index, hexs) != 3 || k < 0 || k >= count)
        return -1;
    j->instance = instances[k];
    j->index = (uint32_t)index;
    j->n = strcmp(hexs, "-") == 0 ? 0 : strlen(hexs) / 2;
    /* exactly n bytes, so that ASan sees any read past the input */
    j->in = j->n ? malloc(j->n) : NULL;
    for (size_t b = 0; b < j->n; b++)
        j->in[b] = (uint8_t)(hexval(hexs[2 * b]) * 16 + hexval(hexs[2 * b + 1]));
    return 0;
}

int main(void)
{
    static char line[1 << 18];
    static struct job sync_job, async_job;
    void *instances[16];
    int count = 0;
    pthread_t thread;
    int pending = 0;
    memset(&api, 0, sizeof api);
    api.struct_size = sizeof api;
    api.abi_version = BH_MODULE_ABI_VERSION;
    api.write = h_write;
    api.fail = h_fail;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin) != NULL) {
        int k;
        unsigned long n;
        if (strchr(line, '\n') == NULL) {
            fprintf(stderr, "line longer than the buffer\n");
            return 2;
        }
        if (strcmp(line, "new\n") == 0 && count < 16) {
            instances[count] = test_instance_new();
            if (instances[count] == NULL)
                return 3;
            printf("inst %d\n", count++);
        } else if (sscanf(line, "free %d", &k) == 1 && k >= 0 && k < count) {
            test_instance_free(instances[k]);
            instances[k] = NULL;
            printf("freed\n");
        } else if (sscanf(line, "limit %lu", &n) == 1) {
            limit = n;
            printf("limit\n");
        } else if (strncmp(line, "call ", 5) == 0 && parse(line + 5, instances, count, &sync_job) == 0) {
            run(&sync_job);
            printf("%s\n", sync_job.line);
        } else if (strncmp(line, "async ", 6) == 0 && !pending &&
                   parse(line + 6, instances, count, &async_job) == 0) {
            if (pthread_create(&thread, NULL, thread_main, &async_job) != 0)
                return 4;
            pending = 1;
            test_wait_entered();
            printf("started\n");
        } else if (strcmp(line, "release\n") == 0) {
            test_release();
            printf("released\n");
        } else if (strcmp(line, "join\n") == 0 && pending) {
            pthread_join(thread, NULL);
            pending = 0;
            printf("%s\n", async_job.line);
        } else if (sscanf(line, "failrealloc %lu", &n) == 1) {
            pthread_mutex_lock(&fail_mu);
            fail_size = n;
            pthread_mutex_unlock(&fail_mu);
            printf("armed\n");
        } else if (strcmp(line, "stat\n") == 0) {
            char buf[256];
            test_stat(buf, sizeof buf);
            printf("stat %s\n", buf);
        } else {
            fprintf(stderr, "bad command: %s", line);
            return 2;
        }
    }
    for (int i = 0; i < count; i++)
        if (instances[i] != NULL)
            test_instance_free(instances[i]);
    return 0;
}
