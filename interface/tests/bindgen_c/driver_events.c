/* A fake host for the generated ev_emit_* functions (interface/tests/bindgen_c.rs, typed events):
 * records what reaches api->emit and returns a chosen status. Prints one line per check:
 *   emit <topic> <payload hex, "-" when empty>  (fire, a host that accepts everything)
 *   fire rc <dispatch result> failed <0|1> out <fire's output hex>
 *   statuses <the ev_emit_* results of emit_all, space-separated>
 *   status <name> rc <result> calls <emits that reached the host> topic <topic> len <bytes>
 *   invalid <name> rc <result> calls <emits that reached the host>
 *   threads <emits accepted> calls <emits that reached the host>
 * Linked with -Wl,--wrap=realloc (fail_realloc makes the encoder's buffer fail to grow). */
#include "emit_events.c"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
static int fail_realloc;

void *__wrap_realloc(void *ptr, size_t size)
{
    return fail_realloc ? NULL : __real_realloc(ptr, size);
}

#define TOKEN UINT64_C(0x1234567890abcdef)

/* The typed method: emits every event through the api and token of the call's instance. */
int32_t ev_fire(ev_call *call, const bool *threaded, uint32_t *out)
{
    (void)threaded;
    *out = emit_all(call->api, call->api->instance_token, NULL);
    return 0;
}

/* ev_fire has a direct entry (docs/TYPED.md, "Direct calls"), which this driver does not call. */
const bh_host_api *ev_instance_api(void *instance)
{
    (void)instance;
    return NULL;
}

struct bh_call_ctx {
    uint8_t out[16];
    size_t len;
    int failed;
};

static int32_t h_write(bh_call_ctx *c, const uint8_t *data, size_t len)
{
    if (len > sizeof c->out - c->len)
        return BH_API_TOO_LARGE;
    memcpy(c->out + c->len, data, len);
    c->len += len;
    return BH_API_OK;
}

static int32_t h_fail(bh_call_ctx *c, int32_t code, const char *msg, size_t len)
{
    (void)code;
    (void)msg;
    (void)len;
    c->failed = 1;
    return BH_API_OK;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int32_t status = BH_API_OK;
static int print_emits;
static size_t calls;
static char last_topic[200];
static size_t last_len;

static int32_t h_emit(uint64_t token, const char *topic, size_t topic_len, const uint8_t *data,
                      size_t len)
{
    if (token != TOKEN || topic == NULL || topic_len == 0 || topic_len >= sizeof last_topic ||
        (data == NULL && len != 0)) {
        printf("bad emit arguments\n");
        exit(3);
    }
    pthread_mutex_lock(&mu);
    calls++;
    memcpy(last_topic, topic, topic_len);
    last_topic[topic_len] = '\0';
    last_len = len;
    if (print_emits) {
        printf("emit %s ", last_topic);
        for (size_t k = 0; k < len; k++)
            printf("%02x", data[k]);
        printf("%s\n", len == 0 ? "-" : "");
    }
    int32_t st = status;
    pthread_mutex_unlock(&mu);
    return st;
}

static void *emit_thread(void *arg)
{
    const bh_host_api *api = arg;
    uint32_t *ok = malloc(sizeof *ok);
    *ok = 0;
    for (int k = 0; k < 50; k++)
        *ok += emit_all(api, TOKEN, NULL);
    return ok;
}

#define INVALID(name, call)                                                                      \
    do {                                                                                         \
        size_t before = calls;                                                                   \
        int32_t rc = (call);                                                                     \
        printf("invalid %s rc %ld calls %zu\n", name, (long)rc, calls - before);                \
    } while (0)

int main(void)
{
    bh_host_api api;
    memset(&api, 0, sizeof api);
    api.struct_size = sizeof api;
    api.abi_version = BH_MODULE_ABI_VERSION;
    api.instance_token = TOKEN;
    api.emit = h_emit;
    api.write = h_write;
    api.fail = h_fail;

    /* 1. Every event, a host that accepts everything: once from the typed method fire (through
     * the dispatcher), once directly to see each status. */
    static const uint8_t no[1] = {0};
    bh_call_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    print_emits = 1;
    int32_t frc = ev_dispatch(&api, NULL, EV_METHOD_FIRE, no, 1, &ctx);
    print_emits = 0;
    printf("fire rc %ld failed %d out ", (long)frc, ctx.failed);
    for (size_t k = 0; k < ctx.len; k++)
        printf("%02x", ctx.out[k]);
    printf("\n");
    int32_t seen[EMIT_ALL_COUNT];
    uint32_t ok = emit_all(&api, TOKEN, seen);
    printf("statuses");
    for (size_t k = 0; k < EMIT_ALL_COUNT; k++)
        printf(" %ld", (long)seen[k]);
    printf(" ok %lu\n", (unsigned long)ok);

    /* 2. The host's status is passed through. */
    const struct {
        const char *name;
        int32_t st;
    } statuses[] = {{"overloaded", BH_API_OVERLOADED},
                    {"stale", BH_API_STALE},
                    {"too-large", BH_API_TOO_LARGE},
                    {"invalid", BH_API_INVALID},
                    {"other", 12345}};
    for (size_t k = 0; k < sizeof statuses / sizeof statuses[0]; k++) {
        status = statuses[k].st;
        size_t before = calls;
        ev_string s = {"abc", 3};
        int32_t rc = ev_emit_text(&api, TOKEN, &s);
        printf("status %s rc %ld calls %zu topic %s len %zu\n", statuses[k].name, (long)rc,
               calls - before, last_topic, last_len);
        before = calls;
        rc = ev_emit_bare(&api, TOKEN);
        printf("status %s-bare rc %ld calls %zu topic %s len %zu\n", statuses[k].name, (long)rc,
               calls - before, last_topic, last_len);
    }
    status = BH_API_OK;

    /* 3. Invalid payloads never reach the host. */
    ev_string bad_utf8 = {"a\xff", 2};
    ev_string surrogate = {"\xed\xa0\x80", 3};
    ev_string overlong = {"\xc0\xaf", 2};
    ev_string null_str = {NULL, 3};
    INVALID("string-bad-utf8", ev_emit_text(&api, TOKEN, &bad_utf8));
    INVALID("string-surrogate", ev_emit_text(&api, TOKEN, &surrogate));
    INVALID("string-overlong", ev_emit_text(&api, TOKEN, &overlong));
    INVALID("string-null", ev_emit_text(&api, TOKEN, &null_str));
    INVALID("null-payload", ev_emit_tick(&api, TOKEN, NULL));
    ev_point p = {1, 2, {"\xff", 1}};
    INVALID("record-field", ev_emit_moved(&api, TOKEN, &p));
    ev_list_point nl = {NULL, 2};
    INVALID("list-null", ev_emit_batch(&api, TOKEN, &nl));
    const ev_point pts[2] = {{1, 2, {"a", 1}}, {3, 4, {NULL, 1}}};
    ev_list_point bl = {pts, 2};
    INVALID("list-element", ev_emit_batch(&api, TOKEN, &bl));
    ev_shape sh;
    memset(&sh, 0, sizeof sh);
    sh.tag = 4;
    INVALID("variant-tag", ev_emit_shaped(&api, TOKEN, &sh));
    sh.tag = EV_SHAPE_NAMED;
    sh.val.named = bad_utf8;
    INVALID("variant-payload", ev_emit_shaped(&api, TOKEN, &sh));
    sh.tag = EV_SHAPE_PATH;
    sh.val.path.ptr = NULL;
    sh.val.path.len = 1;
    INVALID("variant-list-null", ev_emit_shaped(&api, TOKEN, &sh));
    ev_option_string o = {true, {"\xed\xa0\x80", 3}};
    INVALID("option-payload", ev_emit_maybe(&api, TOKEN, &o));
    ev_perms f = UINT32_C(1) << 3;
    INVALID("flags-unknown-bit", ev_emit_perm(&api, TOKEN, &f));
    ev_level lv = 3;
    INVALID("enum-out-of-range", ev_emit_lvl(&api, TOKEN, &lv));
    uint32_t c = 0xd800;
    INVALID("char-surrogate", ev_emit_letter(&api, TOKEN, &c));
    c = 0x110000;
    INVALID("char-too-large", ev_emit_letter(&api, TOKEN, &c));
    ev_list_u8 nb = {NULL, 1};
    INVALID("bytes-null", ev_emit_blob(&api, TOKEN, &nb));
#if SIZE_MAX > UINT32_MAX
    static const uint8_t two[2] = {1, 2};
    ev_list_u8 huge = {two, (size_t)UINT32_MAX + 1u}; /* refused before a byte is read */
    INVALID("bytes-too-long", ev_emit_blob(&api, TOKEN, &huge));
#else
    printf("invalid bytes-too-long rc %ld calls 0\n", (long)EV_EMIT_INVALID_PAYLOAD);
#endif
    bh_host_api no_emit = api;
    no_emit.emit = NULL;
    uint64_t seq = 1;
    INVALID("api-null", ev_emit_tick(NULL, TOKEN, &seq));
    INVALID("api-null-bare", ev_emit_bare(NULL, TOKEN));
    INVALID("emit-null", ev_emit_tick(&no_emit, TOKEN, &seq));
    fail_realloc = 1;
    INVALID("out-of-memory", ev_emit_tick(&api, TOKEN, &seq));
    fail_realloc = 0;

    /* 4. From several threads at once. */
    pthread_t th[4];
    size_t before = calls;
    for (int k = 0; k < 4; k++)
        pthread_create(&th[k], NULL, emit_thread, &api);
    unsigned long total = 0;
    for (int k = 0; k < 4; k++) {
        void *r;
        pthread_join(th[k], &r);
        total += *(uint32_t *)r;
        free(r);
    }
    printf("threads %lu calls %zu\n", total, calls - before);
    return 0;
}
