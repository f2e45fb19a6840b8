/* The events interface/tests/bindgen_c.rs expects (EXPECTED_EVENTS there, in this order), emitted
 * through the generated ev_emit_* functions of events.wit: by the fake host's driver
 * (driver_events.c) and by the real module (module_events.c). */
#include "ev_iface.h"

#include <string.h>

/* Emits every event once; returns how many emits returned BH_API_OK. `seen` (may be NULL) gets
 * each emit's status, in order (EMIT_ALL_COUNT of them). */
#define EMIT_ALL_COUNT 21
static uint32_t emit_all(const bh_host_api *api, uint64_t token, int32_t *seen)
{
    int32_t st[EMIT_ALL_COUNT];
    size_t n = 0;

    st[n++] = ev_emit_bare(api, token);

    uint64_t seq = 7;
    st[n++] = ev_emit_tick(api, token, &seq);
    seq = UINT64_MAX;
    st[n++] = ev_emit_tick(api, token, &seq);

    ev_string s = {"h\xc3\xa9llo", 6};
    st[n++] = ev_emit_text(api, token, &s);
    s.ptr = NULL; /* an empty string may be NULL */
    s.len = 0;
    st[n++] = ev_emit_text(api, token, &s);

    ev_point p = {-3, 4, {"p", 1}};
    st[n++] = ev_emit_moved(api, token, &p);

    static const ev_point pts[2] = {{1, 2, {"a", 1}}, {-1, -2, {NULL, 0}}};
    ev_list_point l = {pts, 2};
    st[n++] = ev_emit_batch(api, token, &l);
    l.ptr = NULL;
    l.len = 0;
    st[n++] = ev_emit_batch(api, token, &l);

    ev_shape sh;
    memset(&sh, 0, sizeof sh);
    sh.tag = EV_SHAPE_NOTHING;
    st[n++] = ev_emit_shaped(api, token, &sh);
    sh.tag = EV_SHAPE_CIRCLE;
    sh.val.circle = 9;
    st[n++] = ev_emit_shaped(api, token, &sh);
    sh.tag = EV_SHAPE_NAMED;
    sh.val.named.ptr = "n";
    sh.val.named.len = 1;
    st[n++] = ev_emit_shaped(api, token, &sh);
    sh.tag = EV_SHAPE_PATH;
    sh.val.path.ptr = pts;
    sh.val.path.len = 1;
    st[n++] = ev_emit_shaped(api, token, &sh);

    ev_option_string o = {false, {NULL, 0}};
    st[n++] = ev_emit_maybe(api, token, &o);
    o.has = true;
    o.val.ptr = "x";
    o.val.len = 1;
    st[n++] = ev_emit_maybe(api, token, &o);

    ev_perms f = EV_PERMS_READ | EV_PERMS_EXEC;
    st[n++] = ev_emit_perm(api, token, &f);
    f = 0;
    st[n++] = ev_emit_perm(api, token, &f);

    ev_level lv = EV_LEVEL_HIGH;
    st[n++] = ev_emit_lvl(api, token, &lv);

    uint32_t c = 0x1f600;
    st[n++] = ev_emit_letter(api, token, &c);

    static const uint8_t bytes[2] = {0x00, 0xff};
    ev_list_u8 b = {bytes, 2};
    st[n++] = ev_emit_blob(api, token, &b);

    double t = -2.5;
    st[n++] = ev_emit_temp(api, token, &t);
    uint64_t nan = UINT64_C(0x7ff0000000000001); /* a NaN, not the canonical one */
    memcpy(&t, &nan, sizeof t);
    st[n++] = ev_emit_temp(api, token, &t);

    uint32_t ok = 0;
    for (size_t k = 0; k < n; k++) {
        if (seen != NULL)
            seen[k] = st[k];
        ok += st[k] == BH_API_OK;
    }
    return ok;
}
