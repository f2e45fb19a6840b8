/*
 * Bundled module "zlib" over the system zlib (BH_THREAD_SAFE).
 *
 *   compress    input: any bytes      output: zlib-format stream (RFC 1950)
 *   decompress  input: a zlib stream  output: the inflated bytes, streamed in
 *               32 KiB chunks through api->write. A write refused with
 *               BH_API_TOO_LARGE stops inflating at once (a decompression
 *               bomb never costs more than one chunk of module memory).
 *   crc32       input: any bytes      output: zlib crc32 (CRC-32/ISO-HDLC),
 *               4 bytes big-endian                               NONBLOCKING
 *
 * Typed methods (plugins/c/zlib.wit; the encoding and decoding are the generated
 * plugins/c/zlib_iface.{h,c}, docs/MODULES.md "A typed C module"):
 *
 *   deflate     (data: list<u8>, level: option<u8>) -> list<u8>
 *   inflate     (data: list<u8>, max-size: option<u64>) -> result<list<u8>, zlib-error>
 *               at most max-size bytes (none: 64 MiB) are ever held; a bad, truncated,
 *               dictionary-needing or over-long stream, or bytes after it, is a zlib-error
 *               value, not a call failure.
 *
 * config (init): empty for Z_DEFAULT_COMPRESSION, or the compression level as
 * decimal ASCII "-1".."9" (e.g. "9"); anything else fails init with code 22.
 *
 * Module error codes: zlib's own (Z_DATA_ERROR -3, Z_MEM_ERROR -4,
 * Z_BUF_ERROR -5 for truncated input, Z_NEED_DICT 2, Z_STREAM_ERROR -2) with
 * zlib's message; the BH_API_* status of a refused write (e.g. -2
 * BH_API_TOO_LARGE); 22 (EINVAL) for trailing bytes after the stream or a bad
 * config; 12 (ENOMEM) when the instance cannot be allocated.
 *
 * Inputs longer than UINT_MAX are fed to zlib in chunks (avail_in is uInt).
 * No memory allocated here ever reaches the host: output is copied by write.
 */
#include "bridgehost_module.h"
#include "zlib_iface.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define BH_EXPORT __attribute__((visibility("default")))

#define CHUNK ((size_t)32 * 1024)
/* Largest slice handed to zlib at once (fits in uInt). Overridable so tests
 * can exercise the chunked feeding without 4 GiB inputs. */
#ifndef BH_ZLIB_MAX_FEED
#define BH_ZLIB_MAX_FEED ((size_t)1 << 30)
#endif
#define MAX_FEED ((size_t)(BH_ZLIB_MAX_FEED))

typedef struct zmod {
    const bh_host_api *api; /* valid until destroy() returns */
    int level;
} zmod;

static int32_t failf(const bh_host_api *api, bh_call_ctx *call, int32_t code, const char *fmt,
                     const char *detail)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, fmt, detail ? detail : "");
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = (int)sizeof msg - 1;
    if (code == 0)
        code = 1;
    api->fail(call, code, msg, (size_t)n);
    return code;
}

static int32_t write_failed(const bh_host_api *api, bh_call_ctx *call, int32_t status)
{
    const char *why = status == BH_API_TOO_LARGE ? "output exceeds the call's output limit"
                      : status == BH_API_STALE   ? "call context is stale"
                                                 : "output write rejected";
    return failf(api, call, status, "%s", why);
}

static size_t feed(z_stream *s, const uint8_t **in, size_t *left)
{
    size_t n = *left < MAX_FEED ? *left : MAX_FEED;
    s->next_in = (Bytef *)(uintptr_t)*in; /* zlib does not write through next_in */
    s->avail_in = (uInt)n;
    *in += n;
    *left -= n;
    return n;
}

static int32_t zmod_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                         void **instance_out, bh_call_ctx *err)
{
    int level = Z_DEFAULT_COMPRESSION;
    if (config_len > 0) {
        char buf[8];
        if (config == NULL || config_len >= sizeof buf)
            return failf(api, err, EINVAL, "config must be a level -1..9 in decimal ASCII%s", NULL);
        memcpy(buf, config, config_len);
        buf[config_len] = '\0';
        char *end = NULL;
        errno = 0;
        long v = strtol(buf, &end, 10);
        int saved = errno;
        if (saved != 0 || end == buf || *end != '\0' || v < -1 || v > 9)
            return failf(api, err, EINVAL, "config must be a level -1..9 in decimal ASCII, got \"%s\"",
                         buf);
        level = (int)v;
    }
    zmod *m = malloc(sizeof *m);
    int saved = errno; /* captured on the line after the failing call */
    if (m == NULL)
        return failf(api, err, saved ? saved : ENOMEM, "%s", "cannot allocate the instance");
    m->api = api;
    m->level = level;
    *instance_out = m;
    return 0;
}

static int32_t do_compress(zmod *m, const uint8_t *in, size_t len, bh_call_ctx *call)
{
    const bh_host_api *api = m->api;
    z_stream s;
    memset(&s, 0, sizeof s);
    int rc = deflateInit(&s, m->level);
    if (rc != Z_OK)
        return failf(api, call, rc, "deflateInit: %s", s.msg ? s.msg : zError(rc));

    uint8_t out[CHUNK];
    size_t left = len;
    int32_t result = 0;
    feed(&s, &in, &left);
    for (;;) {
        int flush = (left == 0) ? Z_FINISH : Z_NO_FLUSH;
        s.next_out = out;
        s.avail_out = (uInt)sizeof out;
        rc = deflate(&s, flush);
        if (rc == Z_STREAM_ERROR) {
            result = failf(api, call, rc, "deflate: %s", s.msg ? s.msg : zError(rc));
            break;
        }
        size_t have = sizeof out - s.avail_out;
        if (have > 0) {
            int32_t w = api->write(call, out, have);
            if (w != BH_API_OK) {
                result = write_failed(api, call, w);
                break;
            }
        }
        if (rc == Z_STREAM_END)
            break;
        if (s.avail_in == 0 && left > 0)
            feed(&s, &in, &left);
    }
    deflateEnd(&s);
    return result;
}

static int32_t do_decompress(zmod *m, const uint8_t *in, size_t len, bh_call_ctx *call)
{
    const bh_host_api *api = m->api;
    z_stream s;
    memset(&s, 0, sizeof s);
    int rc = inflateInit(&s);
    if (rc != Z_OK)
        return failf(api, call, rc, "inflateInit: %s", s.msg ? s.msg : zError(rc));

    uint8_t out[CHUNK];
    size_t left = len;
    int32_t result = 0;
    feed(&s, &in, &left);
    for (;;) {
        s.next_out = out;
        s.avail_out = (uInt)sizeof out;
        rc = inflate(&s, Z_NO_FLUSH);
        size_t have = sizeof out - s.avail_out;
        if (rc == Z_NEED_DICT) {
            result = failf(api, call, Z_NEED_DICT, "inflate: %s",
                           "stream needs a preset dictionary");
            break;
        }
        if (rc == Z_DATA_ERROR || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
            result = failf(api, call, rc, "inflate: %s", s.msg ? s.msg : zError(rc));
            break;
        }
        if (have > 0) {
            int32_t w = api->write(call, out, have);
            if (w != BH_API_OK) {
                /* Stop at once: never inflate past the output limit. */
                result = write_failed(api, call, w);
                break;
            }
        }
        if (rc == Z_STREAM_END) {
            if (s.avail_in != 0 || left != 0)
                result = failf(api, call, EINVAL, "%s", "trailing bytes after the zlib stream");
            break;
        }
        /* rc is Z_OK or Z_BUF_ERROR (no progress possible). */
        if (s.avail_in == 0) {
            if (left > 0) {
                feed(&s, &in, &left);
            } else if (s.avail_out != 0 || rc == Z_BUF_ERROR) {
                /* All input consumed, output space left, stream not ended. */
                result = failf(api, call, Z_BUF_ERROR, "inflate: %s",
                               "truncated input (the zlib stream does not end)");
                break;
            }
        }
    }
    inflateEnd(&s);
    return result;
}

static int32_t do_crc32(zmod *m, const uint8_t *in, size_t len, bh_call_ctx *call)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        size_t n = len < MAX_FEED ? len : MAX_FEED;
        crc = crc32(crc, in, (uInt)n);
        in += n;
        len -= n;
    }
    uint8_t be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    int32_t w = m->api->write(call, be, sizeof be);
    return w == BH_API_OK ? 0 : write_failed(m->api, call, w);
}

/* ---- typed methods (zlib_iface.h) ---- */

#define TYPED_DEFAULT_MAX ((uint64_t)64 << 20)

/* Grow the call-scoped buffer *buf (capacity *cap) to at least one more byte, at most `limit`
 * bytes: 0, or -1 when out of memory. */
static int grow(zlib_call *call, uint8_t **buf, size_t *cap, size_t limit)
{
    size_t want = *cap < CHUNK ? CHUNK : (*cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2);
    if (want > limit)
        want = limit;
    uint8_t *nb = zlib_realloc(call, *buf, want);
    if (nb == NULL)
        return -1;
    *buf = nb;
    *cap = want;
    return 0;
}

/* Room for zlib's avail_out (uInt). */
static uInt room(size_t cap, size_t used)
{
    size_t n = cap - used;
    return (uInt)(n < MAX_FEED ? n : MAX_FEED);
}

int32_t zlib_deflate(zlib_call *call, const zlib_list_u8 *data, const zlib_option_u8 *level,
                     zlib_list_u8 *out)
{
    static const uint8_t empty[1];
    const zmod *m = call->instance;
    int lv = m->level;
    if (level->has) {
        if (level->val > 9)
            return zlib_fail(call, EINVAL, "deflate: level must be 0..9");
        lv = level->val;
    }
    z_stream s;
    memset(&s, 0, sizeof s);
    int rc = deflateInit(&s, lv);
    if (rc != Z_OK)
        return zlib_fail(call, rc, "deflate: deflateInit failed");
    const uint8_t *in = data->ptr != NULL ? data->ptr : empty;
    size_t left = data->len, used = 0, cap = 0;
    uint8_t *buf = NULL;
    int32_t result = 0;
    feed(&s, &in, &left);
    for (;;) {
        if (used == cap && grow(call, &buf, &cap, SIZE_MAX) != 0) {
            result = zlib_fail(call, ENOMEM, "deflate: out of memory");
            break;
        }
        uInt n = room(cap, used);
        s.next_out = buf + used;
        s.avail_out = n;
        rc = deflate(&s, left == 0 ? Z_FINISH : Z_NO_FLUSH);
        used += n - s.avail_out;
        if (rc == Z_STREAM_ERROR) {
            result = zlib_fail(call, rc, "deflate: stream error");
            break;
        }
        if (rc == Z_STREAM_END)
            break;
        if (s.avail_in == 0 && left > 0)
            feed(&s, &in, &left);
    }
    deflateEnd(&s);
    if (result == 0) {
        out->ptr = buf;
        out->len = used;
    }
    return result;
}

/* A zlib-error value with zlib's message, copied into the call's memory. */
static int32_t corrupt(zlib_call *call, const char *why, zlib_result_list_u8_zlib_error *out)
{
    size_t n = strlen(why);
    char *copy = zlib_alloc(call, n);
    if (copy == NULL)
        return zlib_fail(call, ENOMEM, "inflate: out of memory");
    memcpy(copy, why, n);
    out->is_err = true;
    out->val.err.tag = ZLIB_ZLIB_ERROR_CORRUPT;
    out->val.err.val.corrupt.ptr = copy;
    out->val.err.val.corrupt.len = n;
    return 0;
}

int32_t zlib_inflate(zlib_call *call, const zlib_list_u8 *data, const zlib_option_u64 *max_size,
                     zlib_result_list_u8_zlib_error *out)
{
    static const uint8_t empty[1];
    uint64_t max = max_size->has ? max_size->val : TYPED_DEFAULT_MAX;
    /* One byte more than the limit tells an over-long stream from one that ends there. */
    size_t limit = max >= SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max;
    z_stream s;
    memset(&s, 0, sizeof s);
    int rc = inflateInit(&s);
    if (rc != Z_OK)
        return zlib_fail(call, rc, "inflate: inflateInit failed");
    const uint8_t *in = data->ptr != NULL ? data->ptr : empty;
    size_t left = data->len, used = 0, cap = 0;
    uint8_t *buf = NULL;
    int32_t result = 0;
    bool done = false;
    out->is_err = true;
    feed(&s, &in, &left);
    while (!done) {
        if (used == cap && grow(call, &buf, &cap, limit + 1) != 0) {
            result = zlib_fail(call, ENOMEM, "inflate: out of memory");
            break;
        }
        uInt n = room(cap, used);
        s.next_out = buf + used;
        s.avail_out = n;
        rc = inflate(&s, Z_NO_FLUSH);
        used += n - s.avail_out;
        done = true;
        if (used > limit) {
            out->val.err.tag = ZLIB_ZLIB_ERROR_TOO_LARGE;
            out->val.err.val.too_large = max;
        } else if (rc == Z_NEED_DICT) {
            out->val.err.tag = ZLIB_ZLIB_ERROR_NEEDS_DICTIONARY;
        } else if (rc == Z_DATA_ERROR) {
            result = corrupt(call, s.msg != NULL ? s.msg : "invalid stream", out);
        } else if (rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
            result = zlib_fail(call, rc, rc == Z_MEM_ERROR ? "inflate: out of memory"
                                                           : "inflate: stream error");
        } else if (rc == Z_STREAM_END) {
            size_t trailing = s.avail_in + left;
            if (trailing != 0) {
                out->val.err.tag = ZLIB_ZLIB_ERROR_TRAILING_DATA;
                out->val.err.val.trailing_data = trailing;
            } else {
                out->is_err = false;
                out->val.ok.ptr = buf;
                out->val.ok.len = used;
            }
        } else if (s.avail_in == 0 && left > 0) {
            feed(&s, &in, &left);
            done = false;
        } else if (s.avail_in == 0 && (s.avail_out != 0 || rc == Z_BUF_ERROR)) {
            /* All input consumed, output space left, stream not ended. */
            out->val.err.tag = ZLIB_ZLIB_ERROR_TRUNCATED;
        } else {
            done = false; /* Z_OK: more output to make room for */
        }
    }
    inflateEnd(&s);
    return result;
}

enum { M_COMPRESS, M_DECOMPRESS, M_CRC32, M_TYPED, M_COUNT = M_TYPED + ZLIB_METHOD_COUNT };

static int32_t zmod_call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                         bh_call_ctx *call)
{
    zmod *m = instance;
    static const uint8_t empty[1];
    if (input == NULL) {
        if (input_len != 0)
            return failf(m->api, call, EINVAL, "%s", "input is NULL with a non-zero length");
        input = empty;
    }
    switch (method) {
    case M_COMPRESS:
        return do_compress(m, input, input_len, call);
    case M_DECOMPRESS:
        return do_decompress(m, input, input_len, call);
    case M_CRC32:
        return do_crc32(m, input, input_len, call);
    default:
        if (method >= M_TYPED && method < M_COUNT)
            return zlib_dispatch(m->api, m, method - M_TYPED, input, input_len, call);
        return failf(m->api, call, EINVAL, "%s", "no such method index");
    }
}

static void zmod_destroy(void *instance)
{
    free(instance);
}

static const bh_method_desc methods[M_COUNT] = {
    [M_COMPRESS] = {"compress", 0, 0},
    [M_DECOMPRESS] = {"decompress", 0, 0},
    [M_CRC32] = {"crc32", BH_METHOD_NONBLOCKING, 0},
    ZLIB_METHOD_ENTRIES, /* [M_TYPED ...]: deflate, inflate */
};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = M_COUNT,
    .name = "zlib",
    .version = "0.1.0",
    .methods = methods,
    .init = zmod_init,
    .call = zmod_call,
    .destroy = zmod_destroy,
};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
    return &desc;
}
