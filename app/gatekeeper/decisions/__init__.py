"""Decisions once answered: what keeps them and reads them back.

Owns decision ids (UUIDv7), the journal (a decision is in it before its answer leaves),
spill files, the decision log (database or spill sink), the msgid records of the
national format (idempotency), what the national format remembers of recent messages
(the lines decided: ``recent``; emergency visits: ``visits``), withdrawals of decided
lines (``withdrawals``: journal -> their own table) and the lookup of one decision by id
(withdrawals joined).

May import: ``edge``; ``app.core``, ``app.models``, ``app.registry``, ``app.sync``.
"""
