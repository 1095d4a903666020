/* The module: scan(body, max_lines) -> Scanned | None; Scanned.judge(table, emergency);
 * setup(...). See feefast.h and app/gatekeeper/national/_feefast.pyi. */
#include "feefast.h"

#include <structmember.h>

static void scanned_dealloc(Scanned *s) {
    Py_XDECREF(s->body);
    Py_XDECREF(s->infno);
    Py_XDECREF(s->msgid);
    Py_XDECREF(s->inst);
    Py_XDECREF(s->med_type);
    Py_XDECREF(s->days);
    PyMem_Free(s->lines);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *scanned_judge(Scanned *s, PyObject *args) {
    PyObject *tables, *visits = Py_None;
    int emergency;
    if (!PyArg_ParseTuple(args, "Oi|O", &tables, &emergency, &visits))
        return NULL;
    if (emergency < -2 || emergency > 1) {
        PyErr_SetString(PyExc_ValueError, "emergency must be -2, -1, 0 or 1");
        return NULL;
    }
    return ff_judge(s, tables, emergency, visits);
}

static PyMethodDef scanned_methods[] = {
    {"judge", (PyCFunction)scanned_judge, METH_VARARGS,
     "judge(tables, emergency, visits=None) -> (results, answer_lines, plain_lines, inputs, "
     "listed, n_bad, letters, n_accepted, accepted_cents, rejected_cents, memory, visit) | None "
     "on a memo miss"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef scanned_members[] = {
    {"infno", T_OBJECT_EX, offsetof(Scanned, infno), READONLY, NULL},
    {"msgid", T_OBJECT_EX, offsetof(Scanned, msgid), READONLY, NULL},
    {"fixmedins_code", T_OBJECT_EX, offsetof(Scanned, inst), READONLY, NULL},
    {"med_type", T_OBJECT_EX, offsetof(Scanned, med_type), READONLY, NULL},
    {"days", T_OBJECT_EX, offsetof(Scanned, days), READONLY, NULL},
    {"n", T_PYSSIZET, offsetof(Scanned, n), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject ScannedType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "app.gatekeeper.national._feefast.Scanned",
    .tp_basicsize = sizeof(Scanned),
    .tp_dealloc = (destructor)scanned_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A 2204/2301 message in the fast subset, scanned.",
    .tp_methods = scanned_methods,
    .tp_members = scanned_members,
};

static PyObject *scan(PyObject *module, PyObject *args) {
    PyObject *body;
    Py_ssize_t max_lines;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!n", &PyBytes_Type, &body, &max_lines))
        return NULL;
    Scanned *s = PyObject_New(Scanned, &ScannedType);
    if (!s)
        return NULL;
    s->body = Py_NewRef(body);
    s->lines = NULL;
    s->n = 0;
    s->infno = s->msgid = s->inst = s->med_type = s->days = NULL;
    s->n_days = 0;
    int r = ff_scan(PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body), max_lines, s);
    if (r == 1)
        return (PyObject *)s;
    Py_DECREF(s);
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"scan", scan, METH_VARARGS, "scan(body, max_lines) -> Scanned | None (outside the subset)"},
    {"setup", ff_setup, METH_VARARGS, "setup(results, ok, letters, fragments...)"},
    {NULL, NULL, 0, NULL},
};

static void module_free(void *m) {
    (void)m;
    ff_clear();
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_feefast", "2204/2301 fee uploads in C (app/gatekeeper/national/fast.py)",
    -1, module_methods, NULL, NULL, NULL, module_free,
};

PyMODINIT_FUNC PyInit__feefast(void) {
    if (PyType_Ready(&ScannedType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Scanned", (PyObject *)&ScannedType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
