/* The national format's fee uploads (2204/2301) scanned and answered in C: the fast
 * path of app/gatekeeper/national/hsa.py. See app/gatekeeper/national/_feefast.pyi for the contract.
 *
 * The scanner accepts a strict subset of what the reference (msgspec + national/hsa.py) accepts
 * and answers it byte for byte the same; anything else (an escape anywhere, a repeated
 * key, a non-ASCII judged field, a missing or unusual amount, more than MAX_DAYS service
 * dates, a malformed message) makes it return None and the reference decides.
 */
#ifndef YBGATE_FEEFAST_H
#define YBGATE_FEEFAST_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef struct {
    Py_ssize_t off, len;
} Span;

#define MAX_DAYS 128 /* distinct service dates in one message (more: the reference) */

typedef struct {
    Span sn, code;
    Span mdtrt, chrg;        /* len -1: absent, null or "" (no visit / no batch) */
    int64_t cents;
    unsigned char emergency; /* line med_type 13/24 (2301) */
    unsigned char has_med;   /* line med_type present and not empty (2301: its own marker) */
    unsigned char e;         /* the emergency flag the line is judged with (judge.c) */
    unsigned char day;       /* index into Scanned.day_off */
} Line;

typedef struct {
    PyObject_HEAD
    PyObject *body; /* bytes, owned: the spans point into it */
    Line *lines;
    Py_ssize_t n;
    PyObject *infno, *msgid, *inst, *med_type, *days; /* days: tuple of yyyy-MM-dd */
    Py_ssize_t day_off[MAX_DAYS]; /* where each distinct date's text is in body */
    int n_days;
} Scanned;

/* scan.c */
int ff_scan(const char *buf, Py_ssize_t size, Py_ssize_t max_lines, Scanned *out);

/* judge.c: emergency >= 0 for every line (2204 with a wrapper med_type), -1 each line's
 * own med_type else its visit (2301), -2 its visit (2204 without one); visits: the
 * institution's emergency visits (dict, mdtrt_id -> anything) or None */
PyObject *ff_judge(Scanned *s, PyObject *tables, int emergency, PyObject *visits);
PyObject *ff_setup(PyObject *module, PyObject *args);
void ff_clear(void);

#endif
