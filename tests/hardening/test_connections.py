"""Connections and bodies against the real server.

Every server the product runs (``ybgate serve all|admin|gatekeeper``) closes a request
whose headers or body do not arrive in time (408), closes idle connections, and sheds
connections past its bound with a 503 instead of failing at the descriptor limit. The
admin API authenticates before it reads a body and caps bodies (413 without reading on).
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.hardening.conftest import ADMIN, ServeFn, Server
from tests.hardening.wire import read_until_closed as read
from tests.hardening.wire import status, talk

FAST = {
    "YBGATE_HTTP_HEADER_TIMEOUT_S": "1",
    "YBGATE_HTTP_BODY_TIMEOUT_S": "1",
    "YBGATE_HTTP_KEEPALIVE_S": "1",
}


def his_token(server: Server) -> str:
    with httpx.Client(base_url=server.base, headers=ADMIN, timeout=10) as c:
        for path, body in (
            ("/admin/v1/regions", {"code": "330100", "name": "杭州市", "policy": "zhejiang-2014"}),
            (
                "/admin/v1/institutions",
                {
                    "code": "H33010200001",
                    "name": "医院",
                    "region": "330100",
                    "agreement_starts_on": "2026-01-01",
                },
            ),
        ):
            assert c.post(path, json=body).status_code == 201
        token: str = c.post("/admin/v1/institutions/H33010200001/tokens").json()["token"]
        return token


@pytest.mark.parametrize("which", ["all", "admin", "gatekeeper", "gatekeeper --http uvicorn"])
def test_slow_or_missing_headers_and_bodies_get_408_and_close(
    serve: ServeFn, sqlite_url: str, which: str
) -> None:
    auth = b"Authorization: " + ADMIN["Authorization"].encode() + b"\r\n"
    if which.startswith("gatekeeper"):  # an HIS token, in the database before it loads
        auth = b"Authorization: Bearer %b\r\n" % his_token(serve("admin", sqlite_url)).encode()
    server = serve(which, sqlite_url, **FAST)
    port = server.port
    # Headers that never complete.
    raw, closed = talk(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert status(raw) == 408 and closed, raw
    # Headers complete, a body announced that never starts.
    path = b"/v1/settlements/validate" if which.startswith("gatekeeper") else b"/admin/v1/regions"
    head = b"POST %b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" % path
    raw, closed = talk(port, head + auth + b"Content-Length: 100\r\n\r\n{")
    assert status(raw) == 408 and closed, raw
    # A connection that sends nothing, and an idle keep-alive connection, are closed.
    raw, closed = talk(port, b"")
    assert closed and status(raw) in (0, 408), raw
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        raw, closed = read(s, 5.0)
        assert status(raw) == 200 and closed, raw


def test_the_gatekeeper_answers_alike_with_either_protocol(serve: ServeFn, sqlite_url: str) -> None:
    """`ybgate serve gatekeeper --http inline|uvicorn`: the same answers (the inline
    protocol decides the two hot routes itself, uvicorn's goes through the ASGI app)."""
    token = his_token(serve("admin", sqlite_url))
    day = time.strftime("%Y-%m-%d")
    plain = {
        "settlement_id": "S1",
        "institution_code": "H33010200001",
        "lines": [{"line_id": "1", "physician_code": "YB1", "service_date": day}],
    }
    fee = {"feedetl_sn": "1", "fee_ocur_time": f"{day} 09:00:00", "bilg_dr_codg": "YB1"}
    message = {
        "infno": "2204",
        "msgid": "M1",
        "fixmedins_code": "H33010200001",
        "input": {"feedetail": [{**fee, "det_item_fee_sumamt": "1.00"}]},
    }
    answers = []
    for http in ("inline", "uvicorn"):
        server = serve(f"gatekeeper --http {http}", sqlite_url, ready_path="/readyz")
        with httpx.Client(base_url=server.base, timeout=10) as c:
            auth = {"Authorization": f"Bearer {token}"}
            a = c.post("/v1/settlements/validate", json=plain, headers=auth)
            b = c.post("/v1/hsa", json=message, headers=auth)
            again = c.post("/v1/hsa", json=message, headers=auth)
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        assert again.json()["inf_refmsgid"] == b.json()["inf_refmsgid"]  # its msgid record
        answers.append(
            (a.json()["lines"], a.json()["outcome"], b.json()["err_msg"], b.json()["infcode"])
        )
        server.stop()
    assert answers[0] == answers[1]
    assert answers[0][1] == "reject"


def test_connections_past_the_bound_get_503_and_idle_ones_make_way(
    serve: ServeFn, sqlite_url: str
) -> None:
    server = serve("all", sqlite_url, YBGATE_MAX_CONNECTIONS="20", **FAST)
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(60)]
    try:
        time.sleep(0.3)
        shed = 0
        for s in held[20:]:
            raw, closed = read(s, 1.0)
            if status(raw) == 503 and closed:
                assert b"application/problem+json" in raw
                shed += 1
        assert shed >= 35, shed  # the first 20 (less the readiness probe's) are held
        time.sleep(2.5)  # header timeout: the idle ones are closed
        r = httpx.get(server.base + "/healthz", timeout=5)
        assert r.status_code == 200
    finally:
        for s in held:
            s.close()


def test_admin_authenticates_before_reading_a_body_and_caps_it(
    serve: ServeFn, sqlite_url: str
) -> None:
    caps = json.dumps({"/admin/v1/regions": 2048})
    server = serve("all", sqlite_url, YBGATE_ADMIN_BODY_CAPS=caps)
    port = server.port
    head = b"POST /admin/v1/physicians HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    auth = b"Authorization: " + ADMIN["Authorization"].encode() + b"\r\n"
    # No token, a body announced but not sent: 401 at once (the body is never awaited).
    raw, _ = talk(port, head + b"Content-Length: 500\r\n\r\n", wait=3)
    assert status(raw) == 401, raw
    assert b"www-authenticate: Bearer" in raw.lower().replace(b"bearer", b"Bearer")
    # 200 MB announced, with or without a token: 413 at once, nothing read.
    for extra in (b"", auth):
        raw, closed = talk(port, head + extra + b"Content-Length: 200000000\r\n\r\n", wait=3)
        assert status(raw) == 413 and closed, raw
    # Streamed (chunked) past 1 MiB: 413 and the connection is closed.
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head + auth + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        try:
            for _ in range(40):
                s.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw, closed = read(s, 3)
        assert status(raw) == 413 and closed, raw[:200]
    # A per-route cap (YBGATE_ADMIN_BODY_CAPS): 3 KB is too much for /admin/v1/regions only.
    body = {"code": "330100", "name": "杭" * 1000, "policy": "zhejiang-2014"}
    with httpx.Client(base_url=server.base, headers=ADMIN, timeout=10) as c:
        assert c.post("/admin/v1/regions", json=body).status_code == 413
        r = c.post("/admin/v1/physicians", json={"certificate_no": "1" * 18, "name": "杭" * 1000})
        assert r.status_code == 422  # read and validated (the name is too long)
    assert server.proc.poll() is None


def test_expect_100_continue_with_an_oversized_body_gets_413(
    serve: ServeFn, sqlite_url: str
) -> None:
    server = serve("all", sqlite_url, ready_path="/readyz")
    his = his_token(server)
    for path, token in (("/admin/v1/regions", ADMIN["Authorization"]), (None, f"Bearer {his}")):
        target = (path or "/v1/settlements/validate").encode()
        raw, _ = talk(
            server.port,
            b"POST %b HTTP/1.1\r\nHost: x\r\nAuthorization: %b\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: 5000000\r\n\r\n" % (target, token.encode()),
            wait=3,
        )
        assert status(raw) == 413, raw
        assert b"100 Continue" not in raw


def test_two_authorization_headers_are_refused_identically_by_both_apps(
    serve: ServeFn, sqlite_url: str
) -> None:
    server = serve("all", sqlite_url, ready_path="/readyz")
    his = his_token(server)
    answers = []
    for method, path, good in (
        ("GET", "/admin/v1/regions", ADMIN["Authorization"]),
        ("POST", "/v1/settlements/validate", f"Bearer {his}"),
    ):
        for pair in ((good, "Bearer other"), ("Bearer other", good)):
            headers = [("authorization", pair[0]), ("authorization", pair[1])]
            r = httpx.request(method, server.base + path, headers=headers, json={}, timeout=5)
            body = r.json()
            answers.append((r.status_code, body["type"], body["errors"]))
    assert len(set(map(str, answers))) == 1, answers
    assert answers[0][0] == 400
