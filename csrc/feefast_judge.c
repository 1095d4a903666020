/* Judging a scanned message against the institution's memo table and writing every
 * byte string the reference (hsa.fee_judge + hsa.claimed) makes of it. The fragments
 * come from Python once (setup), so the texts have one source: app/gatekeeper/national/fast.py.
 * See feefast.h. */
#include "feefast.h"

#include <string.h>

#define MAX_RESULTS 64

typedef struct {
    const char *s;
    Py_ssize_t len;
} Frag;

static struct {
    Py_ssize_t n;
    PyObject *keep;                /* the setup arguments, kept alive */
    PyObject *results[MAX_RESULTS]; /* app.registry.judge.ALL_RESULTS, by index */
    int ok[MAX_RESULTS];
    char letter[MAX_RESULTS];
    Frag ans_next[MAX_RESULTS], ans_last[MAX_RESULTS];     /* after a line's amount */
    Frag plain_next[MAX_RESULTS], plain_last[MAX_RESULTS]; /* after a line id (plain) */
    Frag listed[MAX_RESULTS];                              /* err_msg: after a line id */
    Frag mid;                                              /* between id and amount */
    Frag sep;                                              /* err_msg: between entries */
} F;

static int frag(PyObject *seq, Py_ssize_t i, Frag *out) {
    PyObject *b = PyTuple_GET_ITEM(seq, i);
    if (!PyBytes_Check(b)) {
        PyErr_SetString(PyExc_TypeError, "fragments must be bytes");
        return 0;
    }
    out->s = PyBytes_AS_STRING(b);
    out->len = PyBytes_GET_SIZE(b);
    return 1;
}

void ff_clear(void) {
    Py_CLEAR(F.keep);
    F.n = 0;
}

/* setup(results, ok, letters, ans_next, ans_last, plain_next, plain_last, listed, mid, sep) */
PyObject *ff_setup(PyObject *module, PyObject *args) {
    PyObject *results, *ok, *letters, *an, *al, *pn, *pl, *li, *mid, *sep;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!O!UO!O!O!O!O!SS", &PyTuple_Type, &results, &PyTuple_Type, &ok,
                          &letters, &PyTuple_Type, &an, &PyTuple_Type, &al, &PyTuple_Type, &pn,
                          &PyTuple_Type, &pl, &PyTuple_Type, &li, &mid, &sep))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(results);
    PyObject *all[] = {ok, an, al, pn, pl, li};
    for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++) {
        if (PyTuple_GET_SIZE(all[j]) != n) {
            PyErr_SetString(PyExc_ValueError, "one fragment per result");
            return NULL;
        }
    }
    if (n > MAX_RESULTS || PyUnicode_GET_LENGTH(letters) != n || !PyUnicode_IS_ASCII(letters)) {
        PyErr_SetString(PyExc_ValueError, "at most 64 results, one ASCII letter each");
        return NULL;
    }
    ff_clear();
    for (Py_ssize_t i = 0; i < n; i++) {
        F.results[i] = PyTuple_GET_ITEM(results, i);
        F.ok[i] = PyObject_IsTrue(PyTuple_GET_ITEM(ok, i));
        F.letter[i] = (char)PyUnicode_READ_CHAR(letters, i);
        if (!frag(an, i, &F.ans_next[i]) || !frag(al, i, &F.ans_last[i]) ||
            !frag(pn, i, &F.plain_next[i]) || !frag(pl, i, &F.plain_last[i]) ||
            !frag(li, i, &F.listed[i]))
            return NULL;
    }
    F.mid.s = PyBytes_AS_STRING(mid);
    F.mid.len = PyBytes_GET_SIZE(mid);
    F.sep.s = PyBytes_AS_STRING(sep);
    F.sep.len = PyBytes_GET_SIZE(sep);
    F.keep = Py_BuildValue("(OOOOOOOOOO)", results, ok, letters, an, al, pn, pl, li, mid, sep);
    if (!F.keep)
        return NULL;
    F.n = n;
    Py_RETURN_NONE;
}

static inline char *put(char *w, const char *s, Py_ssize_t len) {
    memcpy(w, s, (size_t)len);
    return w + len;
}

/* Cents as the canonical amount: d+.dd (money() and canonical_amounts agree). */
static Py_ssize_t amount_text(int64_t cents, char *out) {
    char tmp[24];
    int64_t whole = cents / 100;
    int frac = (int)(cents % 100);
    Py_ssize_t n = 0;
    do {
        tmp[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '.';
    out[n + 1] = (char)('0' + frac / 10);
    out[n + 2] = (char)('0' + frac % 10);
    return n + 3;
}

/* Whether the line's visit is an emergency visit (in ``visits``): 1/0, -1 on an error. */
static int visit_emergency(const char *base, Line *ln, PyObject *visits) {
    if (visits == Py_None || ln->mdtrt.len < 0)
        return 0;
    PyObject *key = PyUnicode_DecodeASCII(base + ln->mdtrt.off, ln->mdtrt.len, NULL);
    if (!key)
        return -1;
    int found = PyDict_Contains(visits, key);
    Py_DECREF(key);
    return found;
}

/* Each line's emergency flag (ln->e, see feefast.h) and result index into F, by the memo
 * table of its date; 0 on a miss, -1 on an error. */
static int verdicts(Scanned *s, PyObject *tables, int emergency, PyObject *visits,
                    unsigned char *idx) {
    const char *base = PyBytes_AS_STRING(s->body);
    for (Py_ssize_t i = 0; i < s->n; i++) {
        Line *ln = &s->lines[i];
        int e = emergency;
        if (e < 0)
            e = e == -1 && ln->has_med ? ln->emergency : visit_emergency(base, ln, visits);
        if (e < 0)
            return -1;
        ln->e = (unsigned char)e;
        PyObject *table = PyTuple_GET_ITEM(tables, ln->day);
        PyObject *key = PyUnicode_DecodeASCII(base + ln->code.off, ln->code.len, NULL);
        if (!key)
            return -1;
        PyObject *v = PyDict_GetItemWithError(table, key);
        Py_DECREF(key);
        if (!v)
            return PyErr_Occurred() ? -1 : 0;
        if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 2)
            return 0;
        PyObject *r = PyTuple_GET_ITEM(v, ln->e);
        Py_ssize_t j = 0;
        while (j < F.n && F.results[j] != r)
            j++;
        if (j == F.n)
            return 0;
        idx[i] = (unsigned char)j;
    }
    return 1;
}

typedef struct {
    Py_ssize_t answer, plain, inputs, listed, memory;
    Py_ssize_t n_bad, n_accepted;
    int64_t acc, rej;
} Sizes;

static int measure(Scanned *s, const unsigned char *idx, Sizes *z) {
    Py_ssize_t n = s->n;
    char digits[24];
    memset(z, 0, sizeof(*z));
    z->inputs = 2 + (n - 1); /* [ ] and the commas */
    for (Py_ssize_t i = 0; i < n; i++) {
        Line *ln = &s->lines[i];
        int r = idx[i], last = i == n - 1;
        z->answer += ln->sn.len + F.mid.len + amount_text(ln->cents, digits) +
                     (last ? F.ans_last[r].len : F.ans_next[r].len);
        z->plain += ln->sn.len + (last ? F.plain_last[r].len : F.plain_next[r].len);
        z->inputs += 2 + ln->code.len + 3 + 10 + 2 + 5 + 1; /* ["c","yyyy-mm-dd",false] */
        /* the line memory's text: mdtrt_id \t sn \t chrg_bchno \t letter \n */
        z->memory += (ln->mdtrt.len > 0 ? ln->mdtrt.len : 0) + 1 + ln->sn.len + 1 +
                     (ln->chrg.len > 0 ? ln->chrg.len : 0) + 3;
        if (F.ok[r]) {
            if (__builtin_add_overflow(z->acc, ln->cents, &z->acc))
                return 0;
        } else {
            if (__builtin_add_overflow(z->rej, ln->cents, &z->rej))
                return 0;
            z->n_bad++;
            z->listed += ln->sn.len + F.listed[r].len;
        }
        z->n_accepted += r == 0;
    }
    if (z->n_bad)
        z->listed -= F.sep.len;
    return 1;
}

static void write_all(Scanned *s, const unsigned char *idx, char *a, char *p, char *in, char *li,
                      char *codes, char *mem) {
    const char *base = PyBytes_AS_STRING(s->body);
    Py_ssize_t n = s->n;
    *in++ = '[';
    for (Py_ssize_t i = 0; i < n; i++) {
        Line *ln = &s->lines[i];
        const char *sn = base + ln->sn.off;
        int r = idx[i], last = i == n - 1;
        int e = ln->e;
        Frag an = last ? F.ans_last[r] : F.ans_next[r];
        Frag pn = last ? F.plain_last[r] : F.plain_next[r];
        a = put(a, sn, ln->sn.len);
        a = put(a, F.mid.s, F.mid.len);
        a += amount_text(ln->cents, a);
        a = put(a, an.s, an.len);
        p = put(p, sn, ln->sn.len);
        p = put(p, pn.s, pn.len);
        in = put(in, "[\"", 2);
        in = put(in, base + ln->code.off, ln->code.len);
        in = put(in, "\",\"", 3);
        in = put(in, base + s->day_off[ln->day], 10);
        in = e ? put(in, "\",true],", 8) : put(in, "\",false],", 9);
        if (!F.ok[r]) {
            li = put(li, sn, ln->sn.len);
            li = put(li, F.listed[r].s, F.listed[r].len);
        }
        codes[i] = F.letter[r];
        if (ln->mdtrt.len > 0)
            mem = put(mem, base + ln->mdtrt.off, ln->mdtrt.len);
        *mem++ = '\t';
        mem = put(mem, sn, ln->sn.len);
        *mem++ = '\t';
        if (ln->chrg.len > 0)
            mem = put(mem, base + ln->chrg.off, ln->chrg.len);
        *mem++ = '\t';
        *mem++ = F.letter[r];
        *mem++ = '\n';
    }
    in[-1] = ']';
}

/* The one visit every line names ("" when none names one), or None when they differ. */
static PyObject *one_visit(Scanned *s) {
    const char *base = PyBytes_AS_STRING(s->body);
    Span first = s->lines[0].mdtrt;
    for (Py_ssize_t i = 1; i < s->n; i++) {
        Span m = s->lines[i].mdtrt;
        if (m.len != first.len ||
            (m.len > 0 && memcmp(base + m.off, base + first.off, (size_t)m.len) != 0))
            Py_RETURN_NONE;
    }
    return PyUnicode_DecodeASCII(base + first.off, first.len > 0 ? first.len : 0, NULL);
}

/* The results list (LineResult objects, in line order). */
static PyObject *results_list(Scanned *s, const unsigned char *idx) {
    PyObject *list = PyList_New(s->n);
    if (!list)
        return NULL;
    for (Py_ssize_t i = 0; i < s->n; i++) {
        PyObject *r = F.results[idx[i]];
        Py_INCREF(r);
        PyList_SET_ITEM(list, i, r);
    }
    return list;
}

PyObject *ff_judge(Scanned *s, PyObject *tables, int emergency, PyObject *visits) {
    unsigned char small[256], *idx = small;
    PyObject *out = NULL, *a = NULL, *p = NULL, *in = NULL, *li = NULL, *codes = NULL,
             *results = NULL, *mem = NULL, *visit = NULL;
    Sizes z;
    if (F.n == 0) {
        PyErr_SetString(PyExc_RuntimeError, "_feefast.setup was not called");
        return NULL;
    }
    if (!PyTuple_Check(tables) || PyTuple_GET_SIZE(tables) != s->n_days) {
        PyErr_SetString(PyExc_TypeError, "tables: a tuple of one dict per service date");
        return NULL;
    }
    for (int i = 0; i < s->n_days; i++) {
        if (!PyDict_Check(PyTuple_GET_ITEM(tables, i))) {
            PyErr_SetString(PyExc_TypeError, "tables: a tuple of one dict per service date");
            return NULL;
        }
    }
    if (visits != Py_None && !PyDict_Check(visits)) {
        PyErr_SetString(PyExc_TypeError, "visits: a dict or None");
        return NULL;
    }
    if (s->n > (Py_ssize_t)sizeof(small) && !(idx = PyMem_Malloc((size_t)s->n)))
        return PyErr_NoMemory();
    int found = verdicts(s, tables, emergency, visits, idx);
    if (found <= 0) {
        if (found == 0)
            out = Py_NewRef(Py_None);
        goto done;
    }
    if (!measure(s, idx, &z)) {
        out = Py_NewRef(Py_None); /* sums past int64: the reference's big integers */
        goto done;
    }
    /* the inputs are measured with "false", trimmed below by one byte per "true"; the
     * err_msg listing with the last entry's separator, trimmed below */
    if (!(a = PyBytes_FromStringAndSize(NULL, z.answer)) ||
        !(p = PyBytes_FromStringAndSize(NULL, z.plain)) ||
        !(in = PyBytes_FromStringAndSize(NULL, z.inputs)) ||
        !(li = PyBytes_FromStringAndSize(NULL, z.listed + F.sep.len)) ||
        !(codes = PyUnicode_New(s->n, 127)) || !(results = results_list(s, idx)) ||
        !(mem = PyBytes_FromStringAndSize(NULL, z.memory)) || !(visit = one_visit(s)))
        goto done;
    write_all(s, idx, PyBytes_AS_STRING(a), PyBytes_AS_STRING(p), PyBytes_AS_STRING(in),
              PyBytes_AS_STRING(li), PyUnicode_DATA(codes), PyBytes_AS_STRING(mem));
    Py_ssize_t trues = 0;
    for (Py_ssize_t i = 0; i < s->n; i++)
        trues += s->lines[i].e;
    if ((trues && _PyBytes_Resize(&in, z.inputs - trues) < 0) ||
        _PyBytes_Resize(&li, z.listed) < 0)
        goto done;
    out = Py_BuildValue("(NNNNNnNnLLNN)", results, a, p, in, li, z.n_bad, codes, z.n_accepted,
                        (long long)z.acc, (long long)z.rej, mem, visit);
    results = a = p = in = li = codes = mem = visit = NULL; /* stolen (N), also on failure */
done:
    Py_XDECREF(a);
    Py_XDECREF(p);
    Py_XDECREF(in);
    Py_XDECREF(li);
    Py_XDECREF(codes);
    Py_XDECREF(results);
    Py_XDECREF(mem);
    Py_XDECREF(visit);
    if (idx != small)
        PyMem_Free(idx);
    return out;
}
