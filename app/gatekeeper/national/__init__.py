"""The national platform's format (国家医疗保障信息平台): ``POST /v1/hsa``.

Owns the messages as msgspec Structs (2204/2301 fee uploads, 5102 staff query,
3101/3102 audits, 2201/2203/2401 visits, 2205/2302 withdrawals; ``POST /v1/hsa`` and
``/v1/hsa/{infno}``), the lines as clients write them, exact amounts, the reference
decision, the optional C fast path (``fast``; ``_feefast`` built from ``csrc/``), the
answers in the platform's wrapper, the msgid claim and who may send a message
(``signed``: a bearer token and/or the gateway's signature headers). A fee upload is
stored as the plain format's decision, so this room builds on ``plain``.

May import: ``edge``, ``decisions``, ``host``, ``plain``; ``app.core``, ``app.registry``,
``app.rules``.
"""
