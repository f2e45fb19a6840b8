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

static int32_t zlib_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
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

enum { M_COMPRESS, M_DECOMPRESS, M_CRC32, M_COUNT };

static int32_t zlib_call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
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
        return failf(m->api, call, EINVAL, "%s", "no such method index");
    }
}

static void zlib_destroy(void *instance)
{
    free(instance);
}

static const bh_method_desc methods[M_COUNT] = {
    [M_COMPRESS] = {"compress", 0, 0},
    [M_DECOMPRESS] = {"decompress", 0, 0},
    [M_CRC32] = {"crc32", BH_METHOD_NONBLOCKING, 0},
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
    .init = zlib_init,
    .call = zlib_call,
    .destroy = zlib_destroy,
};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
    return &desc;
}
