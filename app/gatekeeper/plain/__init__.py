"""The plain wire format: ``POST /v1/settlements/validate``.

Owns its msgspec Structs and JSON Schemas, the checks msgspec's types do not express
(service-date bounds), the judgement of lines on the memo tables and the response bytes
(``decide``), and ``validate``: admit + decide, run by both servers of the hot path.

May import: ``edge``, ``decisions``, ``host``; ``app.core``, ``app.registry``,
``app.rules``.
"""
