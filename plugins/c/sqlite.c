/*
 * Bundled module "sqlite" over the system libsqlite3 (docs/SQLITE.md).
 *
 * Typed only (plugins/c/sqlite.wit; the encoding, decoding and handle tables are the generated
 * plugins/c/sqlite_iface.{h,c}, docs/MODULES.md "A typed C module"): resources `connection`
 * (open, execute, query, prepare, last-insert-rowid, busy-timeout, autocommit) and `statement`
 * (bind, step, fetch, columns, reset). Every SQLite error is a typed `error` value; a call fails
 * (a module error) only when memory runs out or the host refuses the output.
 *
 * Stateful (BH_MODULE_STATEFUL): connections and statements live in the instance.
 *
 * Threads: BH_THREAD_SAFE. A connection and its statements share one mutex (struct db), held
 * for the whole of every call on any of them, so SQLite never sees two threads on one
 * connection (its own errmsg, changes and last-insert-rowid stay the caller's), while calls on
 * different connections run in parallel.
 *
 * A statement keeps its connection's struct db alive (a reference count). Dropping the
 * connection closes it with sqlite3_close_v2, which leaves SQLite's handle alive until the last
 * statement is finalized; the statement's later calls fail with misuse, never touch a closed
 * handle.
 *
 * config (init): empty for a result limit of 16 MiB, or the limit in bytes as decimal ASCII
 * (1 .. 1073741824). query, step and fetch fail with too-large(limit) when their result would
 * take more memory than that in the module (what it allocates: each value's C struct, each
 * text and blob with its allocation header, each row's array). The encoded result is always
 * smaller, so the limit bounds both; a result of many small values (NULLs) cannot make the
 * module allocate 24 bytes per byte on the wire beyond it.
 *
 * Hardening of every connection: SQLITE_DBCONFIG_DEFENSIVE on, trusted_schema off, extension
 * loading off, and an authorizer that refuses the SQL functions load_extension and
 * fts3_tokenizer (Debian builds SQLite with SQLITE_ENABLE_FTS3_TOKENIZER, whose two-argument
 * form takes a C pointer from SQL). Temporary storage is memory (PRAGMA temp_store = MEMORY):
 * the sandbox of process isolation cannot create temporary files.
 *
 * Module error codes: 12 (ENOMEM) when memory runs out, 22 (EINVAL) for a bad config.
 */
#include "bridgehost_module.h"
#include "sqlite_iface.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BH_EXPORT __attribute__((visibility("default")))

#define DEFAULT_MAX_BYTES ((uint64_t)16 << 20)
#define MAX_MAX_BYTES ((uint64_t)1 << 30)

typedef struct smod {
    const bh_host_api *api;
    sqlite_resources *resources;
    uint64_t max_bytes; /* result limit: the memory of a query's, step's or fetch's result */
} smod;

/* One SQLite connection, shared by the connection object and its statements. */
typedef struct db {
    pthread_mutex_t lock; /* held for every use of h and of a statement on it */
    sqlite3 *h;           /* NULL once the connection was dropped */
    atomic_uint refs;     /* the connection object and each statement */
} db;

struct sqlite_connection {
    db *d;
};

struct sqlite_statement {
    db *d;
    sqlite3_stmt *st; /* finalized when the statement is dropped */
    bool done;        /* step returned SQLITE_DONE: step gives none until reset or bind */
};

static void db_unref(db *d)
{
    if (atomic_fetch_sub(&d->refs, 1) == 1) {
        pthread_mutex_destroy(&d->lock);
        free(d);
    }
}

/* ---- results: 0, TYPED (the error value is set), or the call's failure code ---- */

#define TYPED (-1)

/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF): what the wire requires. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t k = 0;
    while (k < n) {
        unsigned char c = s[k];
        size_t need;
        unsigned char lo = 0x80u, hi = 0xbfu;
        if (c < 0x80u) {
            k++;
            continue;
        } else if (c >= 0xc2u && c <= 0xdfu) {
            need = 1;
        } else if (c >= 0xe0u && c <= 0xefu) {
            need = 2;
            if (c == 0xe0u)
                lo = 0xa0u;
            else if (c == 0xedu)
                hi = 0x9fu;
        } else if (c >= 0xf0u && c <= 0xf4u) {
            need = 3;
            if (c == 0xf0u)
                lo = 0x90u;
            else if (c == 0xf4u)
                hi = 0x8fu;
        } else {
            return false;
        }
        if (n - k - 1 < need)
            return false;
        for (size_t j = 1; j <= need; j++) {
            unsigned char t = s[k + j];
            if (t < (j == 1 ? lo : 0x80u) || t > (j == 1 ? hi : 0xbfu))
                return false;
        }
        k += need + 1;
    }
    return true;
}

/* A copy of the NUL-terminated message in call memory, each byte of an invalid UTF-8 sequence
 * replaced by '?' (SQLite's messages may quote a hostile database's names). */
static int32_t message(sqlite_call *call, const char *msg, sqlite_string *out)
{
    if (msg == NULL)
        msg = "";
    size_t n = strnlen(msg, 4096);
    char *copy = sqlite_alloc(call, n);
    if (copy == NULL)
        return sqlite_fail(call, ENOMEM, "out of memory");
    memcpy(copy, msg, n);
    size_t k = 0;
    while (k < n) {
        /* the length of the valid UTF-8 sequence starting at k, 0 when there is none */
        size_t len = 0;
        for (size_t t = 1; t <= 4 && k + t <= n; t++) {
            if (utf8_ok((const unsigned char *)copy + k, t)) {
                len = t;
                break;
            }
        }
        if (len == 0) {
            copy[k] = '?';
            len = 1;
        }
        k += len;
    }
    out->ptr = copy;
    out->len = n;
    return 0;
}

/* err = misuse(formatted message). */
static int32_t misuse(sqlite_call *call, sqlite_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int32_t misuse(sqlite_call *call, sqlite_error *err, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        buf[0] = '\0';
    err->tag = SQLITE_ERROR_MISUSE;
    int32_t rc = message(call, buf, &err->val.misuse);
    return rc != 0 ? rc : TYPED;
}

/* err = sqlite(failure) for result code rc on h (NULL: no connection to ask for a message). */
static int32_t failure(sqlite_call *call, sqlite3 *h, int rc, sqlite_error *err)
{
    if ((rc & 0xff) == SQLITE_NOMEM)
        return sqlite_fail(call, ENOMEM, "SQLite is out of memory");
    err->tag = SQLITE_ERROR_SQLITE;
    err->val.sqlite.code = rc & 0xff;
    err->val.sqlite.extended_code = rc;
    const char *msg = sqlite3_errstr(rc);
    if (h != NULL && (sqlite3_extended_errcode(h) & 0xff) == (rc & 0xff))
        msg = sqlite3_errmsg(h);
    int32_t r = message(call, msg, &err->val.sqlite.message);
    return r != 0 ? r : TYPED;
}

static int32_t too_large(const smod *m, sqlite_error *err)
{
    err->tag = SQLITE_ERROR_TOO_LARGE;
    err->val.too_large = m->max_bytes;
    return TYPED;
}

/* ---- statements ---- */

/* SQL text SQLite can take whole: at most INT_MAX bytes, no NUL (SQLite would stop there). */
static int32_t check_sql(sqlite_call *call, const sqlite_string *sql, sqlite_error *err)
{
    if (sql->len > INT_MAX)
        return misuse(call, err, "the SQL text is longer than %d bytes", INT_MAX);
    if (sql->len > 0 && memchr(sql->ptr, '\0', sql->len) != NULL)
        return misuse(call, err, "the SQL text contains a NUL byte");
    return 0;
}

/* Compile the first statement of sql[0..len) (checked by check_sql; NULL *st when there is
 * none: only spaces and comments); *used is how many bytes it took. */
static int32_t compile(sqlite_call *call, sqlite3 *h, const char *sql, size_t len,
                       sqlite3_stmt **st, size_t *used, sqlite_error *err)
{
    static const char empty[1];
    *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(h, len > 0 ? sql : empty, (int)len, st, &tail);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return failure(call, h, rc, err);
    }
    *used = tail != NULL && len > 0 ? (size_t)(tail - sql) : len;
    return 0;
}

/* Compile exactly one statement: none, or more than one, is misuse. */
static int32_t compile_one(sqlite_call *call, sqlite3 *h, const sqlite_string *sql,
                           sqlite3_stmt **out, sqlite_error *err)
{
    size_t used = 0;
    sqlite3_stmt *st;
    int32_t r = check_sql(call, sql, err);
    if (r == 0)
        r = compile(call, h, sql->ptr, sql->len, &st, &used, err);
    if (r != 0)
        return r;
    if (st == NULL)
        return misuse(call, err, "the SQL text holds no statement");
    if (used < sql->len) {
        sqlite3_stmt *next = NULL;
        size_t more = 0;
        r = compile(call, h, sql->ptr + used, sql->len - used, &next, &more, err);
        if (r == 0 && next != NULL) {
            sqlite3_finalize(next);
            r = misuse(call, err, "the SQL text holds more than one statement (the second "
                                  "starts at byte %zu)", used);
        }
        if (r != 0) {
            sqlite3_finalize(st);
            return r;
        }
    }
    *out = st;
    return 0;
}

/* Bind params to st's parameters by position (?NNN and :name parameters by their index). */
static int32_t bind(sqlite_call *call, sqlite3 *h, sqlite3_stmt *st, const sqlite_list_value *params,
                    sqlite_error *err)
{
    static const char empty[1];
    int want = sqlite3_bind_parameter_count(st);
    if (params->len != (size_t)want)
        return misuse(call, err, "the statement takes %d parameter(s), got %zu", want, params->len);
    for (size_t i = 0; i < params->len; i++) {
        const sqlite_value *v = &params->ptr[i];
        int at = (int)i + 1, rc;
        switch (v->tag) {
        case SQLITE_VALUE_NULL:
            rc = sqlite3_bind_null(st, at);
            break;
        case SQLITE_VALUE_INTEGER:
            rc = sqlite3_bind_int64(st, at, v->val.integer);
            break;
        case SQLITE_VALUE_REAL:
            rc = sqlite3_bind_double(st, at, v->val.real);
            break;
        case SQLITE_VALUE_TEXT: /* a NULL pointer would bind NULL */
            rc = sqlite3_bind_text64(st, at, v->val.text.len > 0 ? v->val.text.ptr : empty,
                                     v->val.text.len, SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        case SQLITE_VALUE_BLOB:
            rc = sqlite3_bind_blob64(st, at, v->val.blob.len > 0 ? (const void *)v->val.blob.ptr : empty,
                                     v->val.blob.len, SQLITE_TRANSIENT);
            break;
        default:
            return misuse(call, err, "parameter %d: unknown value case %u", at, (unsigned)v->tag);
        }
        if (rc != SQLITE_OK) {
            sqlite3_clear_bindings(st);
            return failure(call, h, rc, err);
        }
    }
    return 0;
}

/* What one call-scoped allocation costs beyond its size (the arena's header). */
#define BLOCK ((uint64_t)sizeof(max_align_t))

/* bytes += n, refusing to pass max. */
static bool add(size_t *bytes, uint64_t n, uint64_t max)
{
    if (n > max || *bytes > max - n)
        return false;
    *bytes += (size_t)n;
    return true;
}

/* The column's name (a placeholder when SQLite has none or it is not UTF-8), for messages. */
static const char *column_label(sqlite3_stmt *st, int i, char *buf, size_t size)
{
    const char *name = sqlite3_column_name(st, i);
    if (name != NULL && utf8_ok((const unsigned char *)name, strlen(name)))
        return name;
    snprintf(buf, size, "column %d", i);
    return buf;
}

/* The current row of st, copied into call memory; *bytes grows by the memory it takes (at most
 * m->max_bytes in all), which is more than its encoded size. */
static int32_t read_row(sqlite_call *call, const smod *m, sqlite3 *h, sqlite3_stmt *st,
                        size_t *bytes, sqlite_list_value *row, sqlite_error *err)
{
    int n = sqlite3_column_count(st);
    /* The row's slot in the rows array (twice: the array grows by doubling) and its values. */
    if (!add(bytes, 2 * sizeof(sqlite_list_value) + BLOCK + (uint64_t)n * sizeof(sqlite_value),
             m->max_bytes))
        return too_large(m, err);
    sqlite_value *vals = sqlite_alloc(call, (size_t)n * sizeof *vals);
    if (vals == NULL)
        return sqlite_fail(call, ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        sqlite_value *v = &vals[i];
        memset(v, 0, sizeof *v);
        int type = sqlite3_column_type(st, i);
        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
            if (type == SQLITE_INTEGER) {
                v->tag = SQLITE_VALUE_INTEGER;
                v->val.integer = sqlite3_column_int64(st, i);
            } else {
                v->tag = SQLITE_VALUE_REAL;
                v->val.real = sqlite3_column_double(st, i);
            }
            continue;
        }
        if (type != SQLITE_TEXT && type != SQLITE_BLOB) {
            v->tag = SQLITE_VALUE_NULL;
            continue;
        }
        const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, i)
                                            : sqlite3_column_blob(st, i);
        size_t len = (size_t)sqlite3_column_bytes(st, i);
        if (p == NULL && (len > 0 || sqlite3_errcode(h) == SQLITE_NOMEM))
            return failure(call, h, SQLITE_NOMEM, err); /* the conversion ran out of memory */
        if (!add(bytes, BLOCK + (uint64_t)len, m->max_bytes))
            return too_large(m, err);
        if (type == SQLITE_TEXT && !utf8_ok(p, len)) {
            char buf[32];
            err->tag = SQLITE_ERROR_INVALID_TEXT;
            int32_t r = message(call, column_label(st, i, buf, sizeof buf), &err->val.invalid_text);
            return r != 0 ? r : TYPED;
        }
        uint8_t *copy = sqlite_alloc(call, len);
        if (copy == NULL)
            return sqlite_fail(call, ENOMEM, "out of memory");
        if (len > 0)
            memcpy(copy, p, len);
        if (type == SQLITE_TEXT) {
            v->tag = SQLITE_VALUE_TEXT;
            v->val.text.ptr = (const char *)copy;
            v->val.text.len = len;
        } else {
            v->tag = SQLITE_VALUE_BLOB;
            v->val.blob.ptr = copy;
            v->val.blob.len = len;
        }
    }
    row->ptr = vals;
    row->len = (size_t)n;
    return 0;
}

/* The result columns' names. */
static int32_t column_names(sqlite_call *call, const smod *m, sqlite3_stmt *st, size_t *bytes,
                            sqlite_list_string *out, sqlite_error *err)
{
    int n = sqlite3_column_count(st);
    if (!add(bytes, BLOCK + (uint64_t)n * sizeof(sqlite_string), m->max_bytes))
        return too_large(m, err);
    sqlite_string *names = sqlite_alloc(call, (size_t)n * sizeof *names);
    if (names == NULL)
        return sqlite_fail(call, ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        if (name == NULL)
            return sqlite_fail(call, ENOMEM, "out of memory");
        size_t len = strlen(name);
        if (!utf8_ok((const unsigned char *)name, len)) {
            char buf[32];
            snprintf(buf, sizeof buf, "column %d", i);
            err->tag = SQLITE_ERROR_INVALID_TEXT;
            int32_t r = message(call, buf, &err->val.invalid_text);
            return r != 0 ? r : TYPED;
        }
        if (!add(bytes, BLOCK + (uint64_t)len, m->max_bytes))
            return too_large(m, err);
        char *copy = sqlite_alloc(call, len);
        if (copy == NULL)
            return sqlite_fail(call, ENOMEM, "out of memory");
        memcpy(copy, name, len);
        names[i].ptr = copy;
        names[i].len = len;
    }
    out->ptr = names;
    out->len = (size_t)n;
    return 0;
}

/* Up to max rows of st appended to *rows (capacity *cap, call memory). *done: st finished. */
static int32_t read_rows(sqlite_call *call, const smod *m, sqlite3 *h, sqlite3_stmt *st,
                         uint64_t max, size_t *bytes, sqlite_list_list_value *rows, bool *done,
                         sqlite_error *err)
{
    size_t cap = 0;
    sqlite_list_value *buf = NULL;
    *done = false;
    while (rows->len < max) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            *done = true;
            break;
        }
        if (rc != SQLITE_ROW)
            return failure(call, h, rc, err);
        if (rows->len == cap) {
            size_t want = cap == 0 ? 16 : cap * 2;
            if (want > SIZE_MAX / sizeof *buf)
                return too_large(m, err);
            sqlite_list_value *nb = sqlite_realloc(call, buf, want * sizeof *buf);
            if (nb == NULL)
                return sqlite_fail(call, ENOMEM, "out of memory");
            buf = nb;
            cap = want;
            rows->ptr = buf;
        }
        int32_t r = read_row(call, m, h, st, bytes, &buf[rows->len], err);
        if (r != 0)
            return r;
        rows->len++;
    }
    return 0;
}

/* ---- connection ---- */

/* The SQL functions hostile SQL must not reach. */
static int authorize(void *unused, int action, const char *a, const char *b, const char *c,
                     const char *d)
{
    (void)unused;
    (void)a;
    (void)c;
    (void)d;
    if (action == SQLITE_FUNCTION && b != NULL &&
        (sqlite3_stricmp(b, "load_extension") == 0 || sqlite3_stricmp(b, "fts3_tokenizer") == 0))
        return SQLITE_DENY;
    return SQLITE_OK;
}

int32_t sqlite_connection_open(sqlite_call *call, const sqlite_string *path,
                               const sqlite_open_mode *mode, sqlite_result_connection_error *out)
{
    sqlite_error *err = &out->val.err;
    out->is_err = true;
    int flags;
    switch (*mode) {
    case SQLITE_OPEN_MODE_READ_WRITE:
        flags = SQLITE_OPEN_READWRITE;
        break;
    case SQLITE_OPEN_MODE_READ_ONLY:
        flags = SQLITE_OPEN_READONLY;
        break;
    default:
        flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        break;
    }
    /* FULLMUTEX: SQLite's own lock too, under the module's (defence in depth). */
    flags |= SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE;
    if (path->len > 0 && memchr(path->ptr, '\0', path->len) != NULL) {
        int32_t r = misuse(call, err, "the path contains a NUL byte");
        return r == TYPED ? 0 : r;
    }
    char *cpath = sqlite_alloc(call, path->len + 1);
    db *d = calloc(1, sizeof *d);
    sqlite_connection *c = malloc(sizeof *c);
    if (cpath == NULL || d == NULL || c == NULL) {
        free(d);
        free(c);
        return sqlite_fail(call, ENOMEM, "out of memory");
    }
    if (path->len > 0)
        memcpy(cpath, path->ptr, path->len);
    cpath[path->len] = '\0';
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(cpath, &h, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(h, 1);
        int on = 0;
        rc = sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, &on);
        if (rc == SQLITE_OK)
            rc = sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on);
        if (rc == SQLITE_OK)
            rc = sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &on);
        if (rc == SQLITE_OK)
            rc = sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, &on);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(h, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_set_authorizer(h, authorize, NULL);
    }
    if (rc != SQLITE_OK) {
        int32_t r = h != NULL ? failure(call, h, rc, err) : failure(call, NULL, SQLITE_NOMEM, err);
        sqlite3_close_v2(h);
        free(d);
        free(c);
        return r == TYPED ? 0 : r;
    }
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        sqlite3_close_v2(h);
        free(d);
        free(c);
        return sqlite_fail(call, ENOMEM, "cannot create a mutex");
    }
    d->h = h;
    atomic_init(&d->refs, 1);
    c->d = d;
    out->is_err = false;
    out->val.ok = c;
    return 0;
}

void sqlite_connection_destroy(void *instance, sqlite_connection *self)
{
    (void)instance;
    db *d = self->d;
    pthread_mutex_lock(&d->lock);
    /* With statements still live SQLite keeps the handle (a zombie) until the last one is
     * finalized; the statements see h == NULL and never use it again. */
    sqlite3_close_v2(d->h);
    d->h = NULL;
    pthread_mutex_unlock(&d->lock);
    free(self);
    db_unref(d);
}

/* out->is_err / out->val.err of a result type from r: 0 (ok), TYPED, or the call's failure. */
#define FINISH(out, r) ((out)->is_err = ((r) != 0), (r) == TYPED ? 0 : (r))

int32_t sqlite_connection_execute(sqlite_call *call, sqlite_connection *self,
                                  const sqlite_string *sql, const sqlite_list_value *params,
                                  sqlite_result_u64_error *out)
{
    db *d = self->d;
    sqlite_error *err = &out->val.err;
    int32_t r = 0;
    pthread_mutex_lock(&d->lock);
    sqlite3 *h = d->h;
    sqlite3_int64 before = sqlite3_total_changes64(h);
    if (params->len > 0) {
        sqlite3_stmt *st = NULL;
        r = compile_one(call, h, sql, &st, err);
        if (r == 0)
            r = bind(call, h, st, params, err);
        while (r == 0) {
            int rc = sqlite3_step(st);
            if (rc == SQLITE_DONE)
                break;
            if (rc != SQLITE_ROW)
                r = failure(call, h, rc, err);
        }
        sqlite3_finalize(st);
    } else {
        size_t at = 0;
        bool any = false;
        const char *text = sql->len > 0 ? sql->ptr : "";
        r = check_sql(call, sql, err);
        while (r == 0 && at <= sql->len) {
            sqlite3_stmt *st = NULL;
            size_t used = 0;
            r = compile(call, h, text + at, sql->len - at, &st, &used, err);
            if (r != 0 || st == NULL)
                break;
            any = true;
            at += used;
            if (sqlite3_bind_parameter_count(st) != 0)
                r = misuse(call, err, "the statement takes %d parameter(s), got 0",
                           sqlite3_bind_parameter_count(st));
            while (r == 0) {
                int rc = sqlite3_step(st);
                if (rc == SQLITE_DONE)
                    break;
                if (rc != SQLITE_ROW)
                    r = failure(call, h, rc, err);
            }
            sqlite3_finalize(st);
            if (used == 0)
                break;
        }
        if (r == 0 && !any)
            r = misuse(call, err, "the SQL text holds no statement");
    }
    if (r == 0)
        out->val.ok = (uint64_t)(sqlite3_total_changes64(h) - before);
    pthread_mutex_unlock(&d->lock);
    return FINISH(out, r);
}

int32_t sqlite_connection_query(sqlite_call *call, sqlite_connection *self,
                                const sqlite_string *sql, const sqlite_list_value *params,
                                sqlite_result_rows_error *out)
{
    const smod *m = call->instance;
    db *d = self->d;
    sqlite_error *err = &out->val.err;
    sqlite3_stmt *st = NULL;
    size_t bytes = 0;
    bool done;
    pthread_mutex_lock(&d->lock);
    int32_t r = compile_one(call, d->h, sql, &st, err);
    if (r == 0)
        r = bind(call, d->h, st, params, err);
    /* err shares out's memory: the result is built aside and set on success. */
    sqlite_rows rows = {{NULL, 0}, {NULL, 0}};
    if (r == 0)
        r = column_names(call, m, st, &bytes, &rows.columns, err);
    if (r == 0)
        r = read_rows(call, m, d->h, st, UINT64_MAX, &bytes, &rows.rows, &done, err);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->lock);
    if (r == 0)
        out->val.ok = rows;
    return FINISH(out, r);
}

int32_t sqlite_connection_prepare(sqlite_call *call, sqlite_connection *self,
                                  const sqlite_string *sql, sqlite_result_statement_error *out)
{
    db *d = self->d;
    sqlite3_stmt *st = NULL;
    sqlite_statement *s = malloc(sizeof *s);
    if (s == NULL)
        return sqlite_fail(call, ENOMEM, "out of memory");
    pthread_mutex_lock(&d->lock);
    int32_t r = compile_one(call, d->h, sql, &st, &out->val.err);
    pthread_mutex_unlock(&d->lock);
    if (r != 0) {
        free(s);
        return FINISH(out, r);
    }
    atomic_fetch_add(&d->refs, 1);
    s->d = d;
    s->st = st;
    s->done = false;
    out->val.ok = s;
    return FINISH(out, 0);
}

int32_t sqlite_connection_last_insert_rowid(sqlite_call *call, sqlite_connection *self,
                                            int64_t *out)
{
    (void)call;
    pthread_mutex_lock(&self->d->lock);
    *out = sqlite3_last_insert_rowid(self->d->h);
    pthread_mutex_unlock(&self->d->lock);
    return 0;
}

int32_t sqlite_connection_busy_timeout(sqlite_call *call, sqlite_connection *self,
                                       const uint32_t *ms, sqlite_result_void_error *out)
{
    db *d = self->d;
    int32_t r = 0;
    int v = *ms > INT_MAX ? INT_MAX : (int)*ms;
    pthread_mutex_lock(&d->lock);
    int rc = sqlite3_busy_timeout(d->h, v);
    if (rc != SQLITE_OK)
        r = failure(call, d->h, rc, &out->val.err);
    pthread_mutex_unlock(&d->lock);
    return FINISH(out, r);
}

int32_t sqlite_connection_autocommit(sqlite_call *call, sqlite_connection *self, bool *out)
{
    (void)call;
    pthread_mutex_lock(&self->d->lock);
    *out = sqlite3_get_autocommit(self->d->h) != 0;
    pthread_mutex_unlock(&self->d->lock);
    return 0;
}

/* ---- statement ---- */

void sqlite_statement_destroy(void *instance, sqlite_statement *self)
{
    (void)instance;
    db *d = self->d;
    pthread_mutex_lock(&d->lock);
    sqlite3_finalize(self->st); /* the last one frees a dropped connection's handle */
    pthread_mutex_unlock(&d->lock);
    free(self);
    db_unref(d);
}

/* Lock the statement's connection; misuse when it was dropped (then unlocked again). */
static int32_t enter(sqlite_call *call, sqlite_statement *self, sqlite_error *err)
{
    pthread_mutex_lock(&self->d->lock);
    if (self->d->h != NULL)
        return 0;
    pthread_mutex_unlock(&self->d->lock);
    return misuse(call, err, "the statement's connection was dropped");
}

int32_t sqlite_statement_bind(sqlite_call *call, sqlite_statement *self,
                              const sqlite_list_value *params, sqlite_result_void_error *out)
{
    int32_t r = enter(call, self, &out->val.err);
    if (r != 0)
        return FINISH(out, r);
    sqlite3_reset(self->st);
    sqlite3_clear_bindings(self->st);
    self->done = false;
    r = bind(call, self->d->h, self->st, params, &out->val.err);
    pthread_mutex_unlock(&self->d->lock);
    return FINISH(out, r);
}

int32_t sqlite_statement_step(sqlite_call *call, sqlite_statement *self,
                              sqlite_result_option_list_value_error *out)
{
    const smod *m = call->instance;
    sqlite_error *err = &out->val.err;
    int32_t r = enter(call, self, err);
    if (r != 0)
        return FINISH(out, r);
    if (!self->done) {
        size_t bytes = 0;
        int rc = sqlite3_step(self->st);
        if (rc == SQLITE_ROW) {
            sqlite_list_value row = {NULL, 0};
            r = read_row(call, m, self->d->h, self->st, &bytes, &row, err);
            if (r == 0) { /* err shares out's memory: set ok only on success */
                out->val.ok.has = true;
                out->val.ok.val = row;
            }
        } else if (rc == SQLITE_DONE) {
            self->done = true;
        } else {
            r = failure(call, self->d->h, rc, err);
        }
        if (r != 0) {
            sqlite3_reset(self->st);
            self->done = false;
        }
    }
    pthread_mutex_unlock(&self->d->lock);
    return FINISH(out, r);
}

int32_t sqlite_statement_fetch(sqlite_call *call, sqlite_statement *self, const uint32_t *max_rows,
                               sqlite_result_list_list_value_error *out)
{
    const smod *m = call->instance;
    sqlite_error *err = &out->val.err;
    int32_t r = enter(call, self, err);
    if (r != 0)
        return FINISH(out, r);
    if (!self->done) {
        size_t bytes = 0;
        bool done = false;
        sqlite_list_list_value rows = {NULL, 0};
        r = read_rows(call, m, self->d->h, self->st, *max_rows, &bytes, &rows, &done, err);
        if (r != 0) {
            sqlite3_reset(self->st);
            self->done = false;
        } else {
            self->done = done;
            out->val.ok = rows;
        }
    }
    pthread_mutex_unlock(&self->d->lock);
    return FINISH(out, r);
}

int32_t sqlite_statement_columns(sqlite_call *call, sqlite_statement *self,
                                 sqlite_result_list_string_error *out)
{
    const smod *m = call->instance;
    int32_t r = enter(call, self, &out->val.err);
    if (r != 0)
        return FINISH(out, r);
    size_t bytes = 0;
    sqlite_list_string names = {NULL, 0};
    r = column_names(call, m, self->st, &bytes, &names, &out->val.err);
    pthread_mutex_unlock(&self->d->lock);
    if (r == 0)
        out->val.ok = names;
    return FINISH(out, r);
}

int32_t sqlite_statement_reset(sqlite_call *call, sqlite_statement *self,
                               sqlite_result_void_error *out)
{
    int32_t r = enter(call, self, &out->val.err);
    if (r != 0)
        return FINISH(out, r);
    sqlite3_reset(self->st); /* its code repeats the last step's error, already reported */
    self->done = false;
    pthread_mutex_unlock(&self->d->lock);
    return FINISH(out, 0);
}

/* ---- the module ---- */

sqlite_resources *sqlite_instance_resources(void *instance)
{
    return ((smod *)instance)->resources;
}

static int32_t init_failed(const bh_host_api *api, bh_call_ctx *err, int32_t code, const char *msg)
{
    api->fail(err, code, msg, strlen(msg));
    return code;
}

static int32_t smod_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                         void **instance_out, bh_call_ctx *err)
{
    uint64_t max = DEFAULT_MAX_BYTES;
    if (config_len > 0) {
        static const char want[] = "config must be the result limit in bytes, 1..1073741824 "
                                   "in decimal ASCII, or empty";
        if (config == NULL || config_len > 10)
            return init_failed(api, err, EINVAL, want);
        uint64_t v = 0;
        for (size_t i = 0; i < config_len; i++) {
            if (config[i] < '0' || config[i] > '9')
                return init_failed(api, err, EINVAL, want);
            v = v * 10 + (uint64_t)(config[i] - '0');
        }
        if (v == 0 || v > MAX_MAX_BYTES)
            return init_failed(api, err, EINVAL, want);
        max = v;
    }
    smod *m = malloc(sizeof *m);
    if (m == NULL)
        return init_failed(api, err, ENOMEM, "cannot allocate the instance");
    m->resources = sqlite_resources_new();
    if (m->resources == NULL) {
        free(m);
        return init_failed(api, err, ENOMEM, "cannot allocate the handle tables");
    }
    m->api = api;
    m->max_bytes = max;
    *instance_out = m;
    return 0;
}

static int32_t smod_call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                         bh_call_ctx *call)
{
    smod *m = instance;
    return sqlite_dispatch(m->api, m, method, input, input_len, call);
}

static void smod_destroy(void *instance)
{
    smod *m = instance;
    /* Statements and connections still live are destroyed (closing their databases). */
    sqlite_resources_free(m->resources, m);
    free(m);
}

static const bh_method_desc methods[] = {SQLITE_METHOD_ENTRIES};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = SQLITE_METHOD_COUNT,
    .name = "sqlite",
    .version = "0.1.0",
    .methods = methods,
    .init = smod_init,
    .call = smod_call,
    .destroy = smod_destroy,
    .module_flags = BH_MODULE_STATEFUL,
};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
    return &desc;
}
