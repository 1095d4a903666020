"""The gatekeeper's HTTP server: uvicorn's httptools protocol with the coalescing write
(``coalescing``), the inline protocol deciding the two hot routes without ASGI
(``inline``), and pre-forked workers sharing one registry (``prefork``).

The top room: it imports the app and every room below; nothing in ``app/`` imports it
(``ybgate serve gatekeeper`` names it).
"""
