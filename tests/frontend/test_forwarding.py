"""前置 mode (CONTRACT.md, "前置 mode: ybgate in front of the platform"): ybgate as a
process in front of the stand-in platform, over real sockets. The HIS changes only the
URL it calls; what reaches the platform is what the HIS sent, byte for byte, and only
fee uploads whose every line passes."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from tests.frontend.support import PLATFORM_PATH, metric, other, plain, upload
from tests.gateway.clients import xtif_java
from tests.gateway.support import issue, refused
from tests.sync.support import Admin, free_port, wait_until

JSON = {"Content-Type": "application/json;charset=utf-8"}


async def decision_of(admin: Admin, msgid: str) -> dict[str, Any]:
    """The logged decision of a fee upload (the admin API, once written)."""

    async def found() -> dict[str, Any] | None:
        r = await admin.c.get(f"/admin/v1/decisions?settlement_id={msgid}", headers=admin.su)
        items: list[dict[str, Any]] = r.json()["items"]
        return items[0] if items else None

    got: dict[str, Any] = await wait_until(found, 30, f"the decision of {msgid}", 0.1)
    return got


async def test_a_passing_upload_reaches_the_platform_byte_for_byte(front: Any) -> None:
    server, standin, admin = await front()
    http = server.http
    [(code, _)] = await admin.world(1)
    pair = await issue(admin)
    # bytes a re-encoder would change: a byte-order mark, spacing, an escaped character
    body = b"\xef\xbb\xbf" + upload(code).replace(b'"infno"', b'  "infno"').replace(
        b"\xe5\x8c\xbb", b"\\u533b"
    )
    headers = {**JSON, **xtif_java(pair["paasid"], pair["secret"]), "X-Trace": "t-1"}
    r = await http.post(f"{server.base}{PLATFORM_PATH}", content=body, headers=headers)

    [seen] = await standin.received(http)
    assert seen["path"] == PLATFORM_PATH
    assert await standin.bodies(http) == [body]
    sent = {k.lower(): v for k, v in seen["headers"]}
    for name in ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature"):
        assert sent[name] == headers[name]
    assert sent["x-trace"] == "t-1" and sent["content-type"] == JSON["Content-Type"]
    # the platform's answer, unchanged: its content type, its own fields
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    doc = r.json()
    assert doc["infcode"] == 0 and doc["inf_refmsgid"].startswith("SI") and "cainfo" in doc
    # the decision log keeps the platform's infcode
    decision = await decision_of(admin, json.loads(body[3:])["msgid"])
    assert decision["upstream_infcode"] == 0 and decision["upstream_error"] is None
    assert decision["outcome"] == "accept"
    # the platform's path is in the OpenAPI document, as the operation of /v1/hsa
    paths = (await http.get(f"{server.base}/openapi.json")).json()["paths"]
    assert paths[PLATFORM_PATH]["post"]["requestBody"] == paths["/v1/hsa"]["post"]["requestBody"]

    # the same message again (freshly signed): the kept answer, not a second forward
    again = {**JSON, **xtif_java(pair["paasid"], pair["secret"])}
    r2 = await http.post(f"{server.base}{PLATFORM_PATH}", content=body, headers=again)
    assert r2.content == r.content and len(await standin.received(http)) == 1

    # /v1/hsa with ybgate's bearer token: forwarded to the platform's path, the token not
    token = await admin.his_token()
    bearer = {**JSON, "Authorization": f"Bearer {token}"}
    r3 = await http.post(f"{server.base}/v1/hsa", content=other("5102"), headers=bearer)
    assert r3.json()["inf_refmsgid"].startswith("SI")
    last = (await standin.received(http))[-1]
    assert last["path"] == PLATFORM_PATH
    assert "authorization" not in {k.lower() for k, _ in last["headers"]}

    # the standalone gatekeeper (its inline protocol) forwards the same way
    port = free_port()
    server.spawn("gatekeeper", port)
    await server.ready(port)
    r4 = await http.post(f"http://127.0.0.1:{port}/v1/hsa", content=upload(code), headers=bearer)
    assert r4.json()["inf_refmsgid"].startswith("SI")
    gk = f"http://127.0.0.1:{port}{PLATFORM_PATH}"
    signed = {**JSON, **xtif_java(pair["paasid"], pair["secret"])}
    b5 = upload(code)
    r5 = await http.post(gk, content=b5, headers=signed)
    assert r5.json()["inf_refmsgid"].startswith("SI")
    assert r5.headers["content-type"] == "application/json; charset=UTF-8"
    last = (await standin.received(http))[-1]
    assert base64.b64decode(last["body_b64"]) == b5
    sent = {k.lower(): v for k, v in last["headers"]}
    assert sent["x-tif-signature"] == signed["x-tif-signature"]
    assert refused(await http.post(gk, content=b5, headers=signed)) == "x-tif-nonce"
    assert len(await standin.received(http)) == 4


async def test_a_failing_upload_is_answered_by_ybgate_and_never_forwarded(front: Any) -> None:
    server, standin, admin = await front()
    [(code, agreement)] = await admin.world(1)
    await admin.suspend(agreement)
    bearer = {**JSON, "Authorization": f"Bearer {await admin.his_token()}"}
    body = upload(code)
    r = await server.http.post(f"{server.base}{PLATFORM_PATH}", content=body, headers=bearer)
    doc = r.json()
    assert doc["infcode"] == -1 and "AGREEMENT_SUSPENDED" in doc["err_msg"]
    assert doc["output"]["ybgate"]["outcome"] == "reject"
    # not JSON naming an infno: answered, never forwarded either
    r2 = await server.http.post(f"{server.base}{PLATFORM_PATH}", content=b"<xml/>", headers=bearer)
    assert r2.json()["infcode"] == -1 and "body" in r2.json()["err_msg"]
    assert await standin.received(server.http) == []
    decision = await decision_of(admin, json.loads(body)["msgid"])
    assert decision["upstream_infcode"] is None and decision["upstream_error"] is None


async def test_an_emergency_visit_learned_on_the_way_lets_its_lines_through(front: Any) -> None:
    server, standin, admin = await front()
    http, base = server.http, server.base
    [(code, agreement)] = await admin.world(1)
    await admin.suspend(agreement)
    bearer = {**JSON, "Authorization": f"Bearer {await admin.his_token()}"}

    async def send(body: bytes) -> dict[str, Any]:
        r = await http.post(f"{base}{PLATFORM_PATH}", content=body, headers=bearer)
        assert r.status_code == 200, r.text
        doc: dict[str, Any] = r.json()
        return doc

    # 2201: the platform assigns the visit's mdtrt_id; the wrapper said 急诊 (13)
    reg = await send(other("2201", med_type="13", input={"data": {"psn_no": "P1"}}))
    visit = reg["output"]["data"]["mdtrt_id"]
    assert (await send(upload(code, mdtrt_id=visit)))["inf_refmsgid"].startswith("SI")
    # 2401: 急诊转住院 (24) in the request, mdtrt_id in the answer's output.result
    adm = await send(other("2401", input={"mdtrtinfo": {"psn_no": "P1", "med_type": "24"}}))
    ward = adm["output"]["result"]["mdtrt_id"]
    assert (await send(upload(code, mdtrt_id=ward)))["infcode"] == 0
    # 2203: the request names both
    info = {"mdtrt_id": "MZ-7", "psn_no": "P1", "med_type": "13"}
    assert (await send(other("2203", input={"mdtrtinfo": info})))["infcode"] == 0
    assert (await send(upload(code, mdtrt_id="MZ-7")))["infcode"] == 0
    # a visit nobody said was an emergency: refused, not forwarded
    assert (await send(upload(code, mdtrt_id="MZ-8")))["infcode"] == -1
    infnos = [json.loads(b.lstrip(b"\xef\xbb\xbf"))["infno"] for b in await standin.bodies(http)]
    assert infnos == ["2201", "2204", "2401", "2204", "2203", "2204"]


async def test_a_slow_platform_is_cut_at_the_timeout_and_the_hot_path_stays_free(
    front: Any,
) -> None:
    server, standin, admin = await front(HSA_UPSTREAM_TIMEOUT_S="1")
    http, base = server.http, server.base
    [(code, _)] = await admin.world(1)
    token = await admin.his_token()
    bearer = {**JSON, "Authorization": f"Bearer {token}"}
    await standin.mode(http, delay_ms=5000)
    body = upload(code)
    forwarding = asyncio.create_task(
        http.post(f"{base}{PLATFORM_PATH}", content=body, headers=bearer)
    )
    await wait_until(lambda: standin.received(http), 10, "the upload at the platform", 0.05)
    # while the platform sits on it, a plain validation is answered
    r = await http.post(f"{base}/v1/settlements/validate", json=plain(code), headers=bearer)
    assert r.status_code == 200 and r.json()["outcome"] == "accept"
    assert not forwarding.done()
    late = (await forwarding).json()
    assert late["infcode"] == -1 and "时限" in late["err_msg"]
    msgid = json.loads(body)["msgid"]
    decision = await decision_of(admin, msgid)
    assert decision["upstream_error"] == "timeout" and decision["upstream_infcode"] is None
    # not kept for the msgid: the resend is judged and forwarded again
    await standin.mode(http, delay_ms=0)
    again = await http.post(f"{base}{PLATFORM_PATH}", content=body, headers=bearer)
    assert again.json()["infcode"] == 0
    assert len(await standin.received(http)) == 2


async def test_a_platform_refusing_connections(front: Any) -> None:
    extra = "/fsi/api/fileupload/upload"
    server, standin, admin = await front(HSA_PATHS=f"{extra}, /fsi/api/other")
    http, base = server.http, server.base
    [(code, _)] = await admin.world(1)
    bearer = {**JSON, "Authorization": f"Bearer {await admin.his_token()}"}
    await standin.mode(http, refuse=True)
    body = upload(code)
    r = await http.post(f"{base}{PLATFORM_PATH}", content=body, headers=bearer)
    assert r.status_code == 200
    assert r.json()["infcode"] == -1 and "无法连接" in r.json()["err_msg"]
    decision = await decision_of(admin, json.loads(body)["msgid"])
    assert decision["upstream_error"] == "refused"
    # ybgate stays ready; its readiness names the platform unreachable
    ready = await http.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json()["upstream"]["reachable"] is False
    await standin.mode(http, refuse=False)
    again = await http.post(f"{base}{PLATFORM_PATH}", content=body, headers=bearer)
    assert again.json()["infcode"] == 0
    assert await standin.bodies(http) == [body]
    # a path of YBGATE_HSA_PATHS goes to the same path upstream
    r = await http.post(f"{base}{extra}?a=1", content=other("9101"), headers=bearer)
    assert r.json()["inf_refmsgid"].startswith("SI")
    last = (await standin.received(http))[-1]
    assert (last["path"], last["query"]) == (extra, "a=1")


async def test_forged_and_replayed_signatures_never_reach_the_platform(front: Any) -> None:
    server, standin, admin = await front()
    http, base = server.http, server.base
    [(code, _)] = await admin.world(1)
    pair = await issue(admin)
    url = f"{base}{PLATFORM_PATH}"
    forged = {**JSON, **xtif_java(pair["paasid"], "not-the-secret")}
    assert refused(await http.post(url, content=upload(code), headers=forged)) == (
        "x-tif-signature"
    )
    signed = {**JSON, **xtif_java(pair["paasid"], pair["secret"])}
    assert (await http.post(url, content=upload(code), headers=signed)).json()["infcode"] == 0
    replayed = await http.post(url, content=upload(code), headers=signed)
    assert refused(replayed) == "x-tif-nonce"
    unknown = {**JSON, **xtif_java("nobody-1234", pair["secret"])}
    assert refused(await http.post(url, content=other("5102"), headers=unknown)) == ("x-tif-paasid")
    assert len(await standin.received(http)) == 1


async def test_the_breaker_opens_and_closes(front: Any) -> None:
    server, standin, admin = await front(HSA_BREAKER_FAILURES="2", HSA_BREAKER_RESET_S="1")
    http, base = server.http, server.base
    await admin.world(1)
    bearer = {**JSON, "Authorization": f"Bearer {await admin.his_token()}"}
    url = f"{base}{PLATFORM_PATH}"
    await standin.mode(http, refuse=True)
    for _ in range(2):
        assert (await http.post(url, content=other("1101"), headers=bearer)).json()["infcode"] == -1
    assert await metric(http, base, 'ybgate_upstream_breaker_state{state="open"}') == 1
    # open: answered at once, nothing tried
    assert (await http.post(url, content=other("1101"), headers=bearer)).json()["infcode"] == -1
    assert await metric(http, base, 'ybgate_upstream_errors_total{kind="open"}') >= 1
    ready = await http.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json()["upstream"]["breaker"] == "open"
    await standin.mode(http, refuse=False)

    async def through() -> bool:
        r = await http.post(url, content=other("1101"), headers=bearer)
        return bool(r.json()["infcode"] == 0)

    await wait_until(through, 30, "a message through the half-open breaker", 0.2)
    assert await metric(http, base, 'ybgate_upstream_breaker_state{state="closed"}') == 1
    assert (
        await metric(http, base, 'ybgate_upstream_breaker_transitions_total{state="half_open"}')
        >= 1
    )


async def test_no_queue_past_the_bound(front: Any) -> None:
    """One connection to the platform and no waiting place: a second message while the
    first is at the platform is answered at once, not queued."""
    server, standin, admin = await front(
        HSA_UPSTREAM_MAX_CONNECTIONS="1", HSA_UPSTREAM_MAX_WAITING="0"
    )
    http, base = server.http, server.base
    await admin.world(1)
    bearer = {**JSON, "Authorization": f"Bearer {await admin.his_token()}"}
    url = f"{base}{PLATFORM_PATH}"
    await standin.mode(http, delay_ms=3000)
    first = asyncio.create_task(http.post(url, content=other("1101"), headers=bearer))
    await wait_until(lambda: standin.received(http), 10, "the first at the platform", 0.05)
    second = (await http.post(url, content=other("1101"), headers=bearer)).json()
    assert second["infcode"] == -1 and "无法连接" in second["err_msg"]
    assert not first.done()
    assert await metric(http, base, 'ybgate_upstream_errors_total{kind="busy"}') == 1
    assert (await first).json()["infcode"] == 0
    assert len(await standin.received(http)) == 1


async def test_a_resend_after_a_restart_gets_the_kept_answer_not_a_second_forward(
    front: Any,
) -> None:
    """Without Redis the platform's answer outlives the process, as its msgid record does:
    ybgate killed (SIGKILL) after forwarding, then started again on the same files, answers
    the resend with the platform's kept answer, byte for byte, and forwards nothing."""
    server, standin, admin = await front()
    http = server.http
    [(code, _)] = await admin.world(1)
    pair = await issue(admin)
    body = upload(code)
    signed = {**JSON, **xtif_java(pair["paasid"], pair["secret"])}
    first = await http.post(f"{server.base}{PLATFORM_PATH}", content=body, headers=signed)
    assert first.json()["infcode"] == 0 and len(await standin.received(http)) == 1
    for proc in server.procs:
        proc.kill()
    server.procs.clear()
    await server.start()
    again = {**JSON, **xtif_java(pair["paasid"], pair["secret"])}
    second = await http.post(f"{server.base}{PLATFORM_PATH}", content=body, headers=again)
    assert second.status_code == 200
    assert second.content == first.content
    assert len(await standin.received(http)) == 1  # not forwarded twice
