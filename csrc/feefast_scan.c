/* Scanning a 2204/2301 message: one pass over the JSON text, strict. Returns 1 with the
 * judged fields' spans, 0 when the message is outside the fast subset (the reference
 * decides it), -1 with a Python exception (out of memory). See feefast.h. */
#include "feefast.h"

#include <string.h>

#define MAX_DEPTH 64
#define BAIL 0

typedef struct {
    const char *base, *p, *end;
} Cur;

typedef struct {
    Py_ssize_t off, len; /* len -1: absent or null */
} Opt;

static inline void ws(Cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static inline int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* A string without escapes (the caller refused bodies with a backslash): its content's
 * span. ascii: refuse bytes >= 0x80 (the judged fields, whose lengths are checked in
 * bytes). A raw control character is not JSON (the reference refuses it too). The
 * closing quote is found by memchr; the bytes before it are checked 8 at a time (a byte
 * below 0x20 in x: (x - 0x20...20) & ~x & 0x80...80 is not zero, exactly when). */
static int string(Cur *c, Span *out, int ascii) {
    const uint64_t ones = 0x2020202020202020ULL, highs = 0x8080808080808080ULL;
    if (c->p >= c->end || *c->p != '"')
        return BAIL;
    const char *s = ++c->p;
    const char *q = memchr(s, '"', (size_t)(c->end - s));
    if (!q)
        return BAIL;
    const unsigned char *u = (const unsigned char *)s;
    Py_ssize_t n = q - s, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, u + i, 8);
        if (((x - ones) & ~x & highs) || (ascii && (x & highs)))
            return BAIL;
    }
    for (; i < n; i++) {
        if (u[i] < 0x20 || (ascii && u[i] >= 0x80))
            return BAIL;
    }
    out->off = s - c->base;
    out->len = n;
    c->p = q + 1;
    return 1;
}

/* A JSON number (grammar only). */
static int number(Cur *c) {
    const char *p = c->p, *e = c->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e || !is_digit(*p))
        return BAIL;
    if (*p == '0')
        p++;
    else
        while (p < e && is_digit(*p))
            p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit(*p))
            return BAIL;
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return BAIL;
        while (p < e && is_digit(*p))
            p++;
    }
    c->p = p;
    return 1;
}

static int literal(Cur *c, const char *word, Py_ssize_t len) {
    if (c->end - c->p < len || memcmp(c->p, word, (size_t)len) != 0)
        return BAIL;
    c->p += len;
    return 1;
}

static int skip_value(Cur *c, int depth);

/* An object's members, each read by ``field``: it names the member's flag first (CLAIM,
 * 0 for a member it skips), which refuses a repeated member *before* its value is read
 * (the reference would keep the last one; reading a second value into what the first
 * filled is how a repeated ``feedetail`` once wrote past its buffer). 1 with the flags of
 * the members seen in *seen, else BAIL or -1. */
typedef int (*Field)(Cur *c, Span key, unsigned seen, unsigned *f, void *ctx);

/* In a Field: this member's flag, or BAIL when the object already had it. */
#define CLAIM(flag)          \
    do {                     \
        if (seen & (flag))   \
            return BAIL;     \
        *f = (flag);         \
    } while (0)

static int members(Cur *c, Field field, void *ctx, unsigned *seen) {
    Span k;
    *seen = 0;
    if (c->p >= c->end || *c->p != '{')
        return BAIL;
    c->p++;
    ws(c);
    while (c->p < c->end && *c->p != '}') {
        unsigned f = 0;
        if (!string(c, &k, 0))
            return BAIL;
        ws(c);
        if (c->p >= c->end || *c->p != ':')
            return BAIL;
        c->p++;
        ws(c);
        int r = field(c, k, *seen, &f, ctx);
        if (r != 1)
            return r;
        if (*seen & f)
            return BAIL; /* a Field that forgot CLAIM: still refused, after the fact */
        *seen |= f;
        ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            ws(c);
            if (c->p < c->end && *c->p == '}')
                return BAIL;
        } else if (c->p >= c->end || *c->p != '}') {
            return BAIL;
        }
    }
    if (c->p >= c->end)
        return BAIL;
    c->p++;
    return 1;
}

static int skip_member(Cur *c, Span key, unsigned seen, unsigned *f, void *depth) {
    (void)key;
    (void)seen;
    (void)f;
    return skip_value(c, *(int *)depth + 1);
}

static int skip_array(Cur *c, int depth) {
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 1;
    }
    for (;;) {
        if (!skip_value(c, depth + 1))
            return BAIL;
        ws(c);
        if (c->p >= c->end)
            return BAIL;
        if (*c->p == ']') {
            c->p++;
            return 1;
        }
        if (*c->p != ',')
            return BAIL;
        c->p++;
        ws(c);
    }
}

/* Any JSON value, checked and skipped (a field the judgement does not read). */
static int skip_value(Cur *c, int depth) {
    Span s;
    if (c->p >= c->end || depth > MAX_DEPTH)
        return BAIL;
    switch (*c->p) {
    case '"':
        return string(c, &s, 0);
    case '{': {
        unsigned seen;
        return members(c, skip_member, &depth, &seen);
    }
    case '[':
        return skip_array(c, depth);
    case 't':
        return literal(c, "true", 4);
    case 'f':
        return literal(c, "false", 5);
    case 'n':
        return literal(c, "null", 4);
    default:
        return number(c);
    }
}

/* An ASCII string of min..max bytes, or null when nullable (out->len -1). */
static int text(Cur *c, Opt *out, Py_ssize_t min, Py_ssize_t max, int nullable) {
    Span s;
    if (nullable && c->p < c->end && *c->p == 'n') {
        out->len = -1;
        return literal(c, "null", 4);
    }
    if (!string(c, &s, 1) || s.len < min || s.len > max)
        return BAIL;
    out->off = s.off;
    out->len = s.len;
    return 1;
}

#define KEY(span, lit) ((span).len == (Py_ssize_t)sizeof(lit) - 1 && \
                        memcmp(c->base + (span).off, lit, sizeof(lit) - 1) == 0)

/* Digits d..d, at most max of them (at least one): their value. */
static int digits(const char *p, Py_ssize_t len, Py_ssize_t max, int64_t *out) {
    int64_t v = 0;
    if (len < 1 || len > max)
        return BAIL;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (!is_digit(p[i]))
            return BAIL;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

/* The amount: a JSON number 0|[1-9]d{0,15}, or a string d{1,16}, with decimals or none,
 * every decimal past the second a zero ("58.0000", a 4-scale database decimal), read by
 * value as amounts.canonical_amounts reads it; in cents. Negative amounts (refunds) and
 * exponents are the reference's. */
static int amount(Cur *c, int64_t *cents) {
    const char *s = c->p, *e;
    int64_t whole, frac = 0;
    Span str;
    if (c->p < c->end && *c->p == '"') {
        if (!string(c, &str, 1))
            return BAIL;
        s = c->base + str.off;
        e = s + str.len;
    } else {
        if (c->p >= c->end || !is_digit(*c->p))
            return BAIL; /* null, negative: the reference names or skips it */
        if (*c->p == '0' && c->p + 1 < c->end && is_digit(c->p[1]))
            return BAIL;
        if (!number(c))
            return BAIL;
        e = c->p;
    }
    const char *dot = memchr(s, '.', (size_t)(e - s));
    if (!digits(s, (dot ? dot : e) - s, 16, &whole))
        return BAIL;
    if (dot) {
        Py_ssize_t nf = e - dot - 1;
        if (nf < 1 || nf > 32 || !digits(dot + 1, nf < 2 ? nf : 2, 2, &frac))
            return BAIL;
        for (Py_ssize_t i = 2; i < nf; i++) {
            if (dot[1 + i] != '0')
                return BAIL;
        }
        if (nf == 1)
            frac *= 10;
    }
    *cents = whole * 100 + frac;
    return 1;
}

/* yyyy-MM-dd HH:mm:ss, the shape hsa.service_days checks. */
static int fee_time(const char *t) {
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    for (int i = 0; i < 19; i++) {
        if (shape[i] == 'd' ? !is_digit(t[i]) : t[i] != shape[i])
            return BAIL;
    }
    return 1;
}

enum {
    F_SN = 1, F_CODE = 2, F_TIME = 4, F_AMT = 8, F_MED = 16, F_MDTRT = 32, F_CHRG = 64,
    F_INIT = 128, F_EXP = 256, F_CNT = 512, F_PRIC = 1024, F_ORDERS = 2048
};

/* A line id: a string of 1-64 bytes, or a non-negative JSON integer of at most 18
 * digits (its text, as the reference echoes it; others are the reference's). */
static int line_id(Cur *c, Span *out) {
    Opt o;
    if (c->p < c->end && *c->p != '"') {
        const char *start = c->p;
        if (!is_digit(*start) || !number(c))
            return BAIL;
        for (const char *q = start; q < c->p; q++) {
            if (!is_digit(*q))
                return BAIL; /* a fraction or an exponent: not an integer */
        }
        if (c->p - start > 18)
            return BAIL;
        out->off = start - c->base;
        out->len = c->p - start;
        return 1;
    }
    if (!text(c, &o, 1, 64, 0))
        return BAIL;
    out->off = o.off;
    out->len = o.len;
    return 1;
}

/* null or "" (the field is absent), nothing else. */
static int absent(Cur *c) {
    if (c->p < c->end && *c->p == 'n')
        return literal(c, "null", 4);
    return literal(c, "\"\"", 2);
}

/* cnt, pric: null, or a number or string -?d{1,16}(.d{1,32})? (read, not judged). */
static int count(Cur *c) {
    Span str;
    const char *s, *e;
    if (c->p < c->end && *c->p == 'n')
        return literal(c, "null", 4);
    if (c->p < c->end && *c->p == '"') {
        if (!string(c, &str, 1))
            return BAIL;
        s = c->base + str.off;
        e = s + str.len;
    } else {
        s = c->p;
        if (!number(c))
            return BAIL;
        e = c->p;
    }
    if (s < e && *s == '-')
        s++;
    const char *dot = memchr(s, '.', (size_t)(e - s));
    Py_ssize_t whole = (dot ? dot : e) - s, frac = dot ? e - dot - 1 : 0;
    if (whole < 1 || whole > 16 || (dot && (frac < 1 || frac > 32)))
        return BAIL;
    for (const char *q = s; q < e; q++) {
        if (q != dot && !is_digit(*q))
            return BAIL;
    }
    return 1;
}

/* An optional ASCII id (mdtrt_id, chrg_bchno): null and "" are absent (len -1). */
static int optional_id(Cur *c, Span *out) {
    Opt o;
    if (!text(c, &o, 0, 64, 1))
        return BAIL;
    out->off = o.off;
    out->len = o.len > 0 ? o.len : -1;
    return 1;
}

static int med_emergency(const char *p, Py_ssize_t len) {
    return len == 2 && ((p[0] == '1' && p[1] == '3') || (p[0] == '2' && p[1] == '4'));
}

/* The line's service date (the date part at off) as an index into out->day_off: the
 * previous line's date first (bills list their days in runs). */
static int service_day(const char *base, Py_ssize_t off, Scanned *out, int prev, Line *ln) {
    if (prev >= 0 && memcmp(base + out->day_off[prev], base + off, 10) == 0) {
        ln->day = (unsigned char)prev;
        return 1;
    }
    for (int i = 0; i < out->n_days; i++) {
        if (memcmp(base + out->day_off[i], base + off, 10) == 0) {
            ln->day = (unsigned char)i;
            return 1;
        }
    }
    if (out->n_days == MAX_DAYS)
        return BAIL;
    out->day_off[out->n_days] = off;
    ln->day = (unsigned char)out->n_days++;
    return 1;
}

typedef struct {
    Line *ln;
    Scanned *out;
    int prev; /* the previous line's date index, -1 for the first line */
} LineCtx;

/* Which line member a key is (0: one the judgement skips), by its length first: most
 * of a line's members are skipped, each after one or two comparisons. */
static unsigned line_key(const char *key, Py_ssize_t len) {
#define IS(lit) (memcmp(key, lit, sizeof(lit) - 1) == 0)
    switch (len) {
    case 3: return IS("cnt") ? F_CNT : 0;
    case 4: return IS("pric") ? F_PRIC : 0;
    case 8: return IS("mdtrt_id") ? F_MDTRT : IS("med_type") ? F_MED : 0;
    case 10: return IS("feedetl_sn") ? F_SN : IS("chrg_bchno") ? F_CHRG : 0;
    case 11: return IS("exp_content") ? F_EXP : 0;
    case 12: return IS("bilg_dr_codg") ? F_CODE : 0;
    case 13: return IS("fee_ocur_time") ? F_TIME : 0;
    case 14: return IS("orders_dr_code") ? F_ORDERS : 0;
    case 15: return IS("init_feedetl_sn") ? F_INIT : 0;
    case 19: return IS("det_item_fee_sumamt") ? F_AMT : 0;
    default: return 0;
    }
#undef IS
}

static int line_field(Cur *c, Span k, unsigned seen, unsigned *f, void *ctx) {
    LineCtx *x = ctx;
    Line *ln = x->ln;
    Opt o;
    unsigned flag = line_key(c->base + k.off, k.len);
    if (flag)
        CLAIM(flag); /* a repeated member: refused before its value is read */
    else
        *f = 0;
    switch (flag) {
    case F_SN:
        return line_id(c, &ln->sn);
    case F_MDTRT:
        return optional_id(c, &ln->mdtrt);
    case F_CHRG:
        return optional_id(c, &ln->chrg);
    case F_CNT:
    case F_PRIC:
        return count(c);
    case F_INIT:
    case F_EXP:
    case F_ORDERS:
        return absent(c); /* a refund, a marker or a second staff code: the reference */
    case F_CODE:
        if (!text(c, &o, 0, 64, 0))
            return BAIL;
        ln->code.off = o.off;
        ln->code.len = o.len;
        return 1;
    case F_TIME:
        return text(c, &o, 19, 19, 0) && fee_time(c->base + o.off) &&
               service_day(c->base, o.off, x->out, x->prev, ln);
    case F_AMT:
        return amount(c, &ln->cents);
    case F_MED:
        if (!text(c, &o, 0, 8, 1))
            return BAIL;
        ln->has_med = o.len > 0;
        ln->emergency = o.len > 0 && med_emergency(c->base + o.off, o.len);
        return 1;
    default:
        return skip_value(c, 2);
    }
}

/* One feedetail item: the four judged fields required, med_type optional. */
static int line(Cur *c, Line *ln, Scanned *out, int prev) {
    LineCtx x = {ln, out, prev};
    unsigned seen, need = F_SN | F_CODE | F_TIME | F_AMT;
    ln->emergency = ln->has_med = ln->e = 0;
    ln->mdtrt.len = ln->chrg.len = -1;
    ln->mdtrt.off = ln->chrg.off = 0;
    if (members(c, line_field, &x, &seen) != 1 || (seen & need) != need)
        return BAIL;
    return 1;
}

/* The one feedetail array of the message. Its buffer is made here once: a second array
 * (a repeated key, which CLAIM refuses before this runs) is refused here too, so the
 * buffer and its count never part. */
static int feedetail(Cur *c, Scanned *out, Py_ssize_t max_lines) {
    Py_ssize_t cap = 32;
    if (out->lines != NULL || out->n != 0)
        return BAIL;
    if (c->p >= c->end || *c->p != '[')
        return BAIL;
    c->p++;
    ws(c);
    out->lines = PyMem_Malloc(sizeof(Line) * (size_t)cap);
    if (!out->lines) {
        PyErr_NoMemory();
        return -1;
    }
    for (;;) {
        if (out->n == max_lines)
            return BAIL;
        if (out->n == cap) {
            Line *more = PyMem_Realloc(out->lines, sizeof(Line) * (size_t)(cap *= 2));
            if (!more) {
                PyErr_NoMemory();
                return -1;
            }
            out->lines = more;
        }
        int prev = out->n ? out->lines[out->n - 1].day : -1;
        if (!line(c, &out->lines[out->n], out, prev))
            return BAIL;
        out->n++;
        ws(c);
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return 1;
        }
        if (c->p >= c->end || *c->p != ',')
            return BAIL;
        c->p++;
        ws(c);
    }
}

typedef struct {
    Scanned *out;
    Py_ssize_t max_lines;
} InputCtx;

static int input_field(Cur *c, Span k, unsigned seen, unsigned *f, void *ctx) {
    InputCtx *x = ctx;
    if (KEY(k, "feedetail")) {
        CLAIM(1);
        return feedetail(c, x->out, x->max_lines);
    }
    if (KEY(k, "data")) {
        CLAIM(2);
        return literal(c, "null", 4);
    }
    return skip_value(c, 1);
}

/* input: feedetail, and data only as null (a 5102 field the reference would check). */
static int input(Cur *c, Scanned *out, Py_ssize_t max_lines) {
    InputCtx x = {out, max_lines};
    unsigned seen;
    int r = members(c, input_field, &x, &seen);
    return r == 1 && !(seen & 1) ? BAIL : r;
}

static PyObject *ascii_str(const char *base, Opt o) {
    if (o.len < 0)
        Py_RETURN_NONE;
    return PyUnicode_DecodeASCII(base + o.off, o.len, NULL);
}

enum { W_INFNO = 1, W_MSGID = 2, W_INST = 4, W_MED = 8, W_INPUT = 16 };

typedef struct {
    Opt o[4]; /* infno, msgid, fixmedins_code, med_type */
    Scanned *out;
    Py_ssize_t max_lines;
} WrapperCtx;

static int wrapper_field(Cur *c, Span k, unsigned seen, unsigned *f, void *ctx) {
    WrapperCtx *x = ctx;
    if (KEY(k, "infno")) {
        CLAIM(W_INFNO);
        return text(c, &x->o[0], 0, 8, 0);
    }
    if (KEY(k, "msgid")) {
        CLAIM(W_MSGID);
        return text(c, &x->o[1], 1, 30, 0);
    }
    if (KEY(k, "fixmedins_code")) {
        CLAIM(W_INST);
        return text(c, &x->o[2], 1, 32, 0);
    }
    if (KEY(k, "med_type")) {
        CLAIM(W_MED);
        return text(c, &x->o[3], 0, 8, 1);
    }
    if (KEY(k, "input")) {
        CLAIM(W_INPUT);
        return input(c, x->out, x->max_lines);
    }
    return skip_value(c, 1);
}

/* No feedetl_sn twice (the reference names the repeated one): an open-addressing set of
 * line indexes, hashed by FNV-1a over the id's bytes. 1: distinct, 0: a repeat. */
static int distinct_ids(const char *base, const Line *lines, Py_ssize_t n) {
    size_t size = 64;
    while (size < (size_t)n * 2)
        size *= 2;
    uint32_t *slots = PyMem_Calloc(size, sizeof(uint32_t));
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    int ok = 1;
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        const char *s = base + lines[i].sn.off;
        Py_ssize_t len = lines[i].sn.len;
        uint64_t h = 1469598103934665603ULL;
        for (Py_ssize_t j = 0; j < len; j++)
            h = (h ^ (unsigned char)s[j]) * 1099511628211ULL;
        for (size_t at = (size_t)h & (size - 1);; at = (at + 1) & (size - 1)) {
            uint32_t k = slots[at];
            if (k == 0) {
                slots[at] = (uint32_t)i + 1;
                break;
            }
            const Line *other = &lines[k - 1];
            if (other->sn.len == len && memcmp(base + other->sn.off, s, (size_t)len) == 0) {
                ok = 0;
                break;
            }
        }
    }
    PyMem_Free(slots);
    return ok;
}

int ff_scan(const char *buf, Py_ssize_t size, Py_ssize_t max_lines, Scanned *out) {
    Cur cur = {buf, buf, buf + size}, *c = &cur;
    WrapperCtx x = {{{0, -1}, {0, -1}, {0, -1}, {0, -1}}, out, max_lines};
    Opt *o = x.o;
    unsigned seen, need = W_INFNO | W_MSGID | W_INST | W_INPUT;
    if (memchr(buf, '\\', (size_t)size))
        return BAIL; /* escapes: the reference decodes and re-escapes */
    if (size >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c->p += 3; /* a UTF-8 byte-order mark before the JSON */
    ws(c);
    int r = members(c, wrapper_field, &x, &seen);
    if (r != 1)
        return r;
    ws(c);
    if (c->p != c->end || (seen & need) != need)
        return BAIL;
    const char *infno = buf + o[0].off;
    if (o[0].len != 4 || (memcmp(infno, "2204", 4) != 0 && memcmp(infno, "2301", 4) != 0))
        return BAIL;
    if (out->n == 0)
        return BAIL;
    int distinct = distinct_ids(buf, out->lines, out->n);
    if (distinct != 1)
        return distinct;
    if (!(out->infno = ascii_str(buf, o[0])) || !(out->msgid = ascii_str(buf, o[1])) ||
        !(out->inst = ascii_str(buf, o[2])) || !(out->med_type = ascii_str(buf, o[3])) ||
        !(out->days = PyTuple_New(out->n_days)))
        return -1;
    for (int i = 0; i < out->n_days; i++) {
        PyObject *d = PyUnicode_DecodeASCII(buf + out->day_off[i], 10, NULL);
        if (!d)
            return -1;
        PyTuple_SET_ITEM(out->days, i, d);
    }
    return 1;
}
