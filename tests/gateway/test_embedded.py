"""Gateway signatures against the embedded default as a process (``ybgate serve all``,
SQLite, no Redis) and a standalone ``ybgate serve gatekeeper`` on the same record (its
inline protocol): real sockets, headers exactly as the cited public clients send them
(``tests/gateway/clients.py``), the key file the embedded default generates."""

from __future__ import annotations

import stat
import time

from tests.gateway.clients import csb_java, xtif_dotnet, xtif_java
from tests.gateway.support import (
    Embedded,
    answered,
    issue,
    post_hsa,
    refused,
    until_accepted,
    until_refused,
    upload,
)
from tests.sync.support import INST, free_port

OTHER = "H33010200002"
PLATFORM_TOKEN = "L950GcMXgDfm1BvTH1NoP7Hajk1HVIYv"


async def test_the_embedded_default_keeps_its_key_and_answers_public_clients(
    embedded: Embedded,
) -> None:
    admin = await embedded.start()
    # the embedded default generated its key file, 0600, and said so
    assert stat.S_IMODE(embedded.key_file.stat().st_mode) == 0o600
    log = embedded.procs[0].log.read_text()
    assert "generated a secrets key" in log and str(embedded.key_file) in log
    [(code, _)] = await admin.world(1)
    pair = await issue(admin)
    paasid, secret = pair["paasid"], pair["secret"]
    http, base = embedded.http, embedded.base
    assert secret not in log

    # .NET ProxyUtil.ComputeSignatureHeaders: x-tif-paasId as it writes it
    headers = xtif_dotnet(paasid, secret)
    answered(await post_hsa(http, base, headers, upload(code)))
    # the same headers again, same or new body: the nonce is spent
    assert refused(await post_hsa(http, base, headers, upload(code))) == "x-tif-nonce"
    # Java HeaderUtil.getHeader2
    answered(await post_hsa(http, base, xtif_java(paasid, secret), upload(code)))
    # the clock window, the signature, the paasid
    stale = xtif_java(paasid, secret, time.time() - 400)
    assert refused(await post_hsa(http, base, stale, upload(code))) == "x-tif-timestamp"
    ahead = xtif_java(paasid, secret, time.time() + 400)
    assert refused(await post_hsa(http, base, ahead, upload(code))) == "x-tif-timestamp"
    forged = xtif_java(paasid, "not-the-secret")
    assert refused(await post_hsa(http, base, forged, upload(code))) == "x-tif-signature"
    unknown = xtif_java("nobody-1234", secret)
    assert refused(await post_hsa(http, base, unknown, upload(code))) == "x-tif-paasid"

    # with a bearer token too: both valid and naming the same institution
    await admin.post(
        "/admin/v1/institutions",
        {
            "code": OTHER,
            "name": "另一医院",
            "region": "330100",
            "agreement_starts_on": "2024-01-01",
            "agreement_ends_on": "2027-12-31",
        },
    )
    own = {"Authorization": f"Bearer {await admin.his_token()}"}
    foreign = {"Authorization": f"Bearer {await admin.his_token(OTHER)}"}
    answered(await post_hsa(http, base, {**own, **xtif_java(paasid, secret)}, upload(code)))
    mixed = {**foreign, **xtif_java(paasid, secret)}
    assert refused(await post_hsa(http, base, mixed, upload(code))) == "x-tif-paasid"
    bad_bearer = {"Authorization": "Bearer nope", **xtif_java(paasid, secret)}
    assert (await post_hsa(http, base, bad_bearer, upload(code))).status_code == 401
    # a signature names its institution: a message of another is forbidden
    r = await post_hsa(http, base, xtif_java(paasid, secret), upload(code, OTHER))
    assert r.status_code == 403

    # the key file outlives the process: a restart still opens the sealed secret
    embedded.stop()
    admin = await embedded.start()
    answered(
        await post_hsa(embedded.http, embedded.base, xtif_dotnet(paasid, secret), upload(code))
    )


async def test_rotation_overlaps_then_the_old_pair_stops_and_revocation_stops_all(
    embedded: Embedded,
) -> None:
    admin = await embedded.start()
    [(code, _)] = await admin.world(1)
    http, base = embedded.http, embedded.base
    old = await issue(admin)
    new = await issue(admin)  # YBGATE_GATEWAY_ROTATION_OVERLAP_S=4 here
    assert new["previous_valid_until"] is not None

    def sign_old() -> dict[str, str]:
        return xtif_java(old["paasid"], old["secret"])

    def sign_new() -> dict[str, str]:
        return xtif_java(new["paasid"], new["secret"])

    answered(await post_hsa(http, base, sign_old(), upload(code)))  # still in its overlap
    answered(await post_hsa(http, base, sign_new(), upload(code)))
    await until_refused(http, base, sign_old, code, "x-tif-paasid")  # the overlap ended
    answered(await post_hsa(http, base, sign_new(), upload(code)))
    r = await admin.c.delete(f"/admin/v1/institutions/{INST}/gateway-credentials", headers=admin.su)
    assert r.status_code == 200 and r.json()["revoked"] == sorted([old["paasid"], new["paasid"]])
    assert refused(await post_hsa(http, base, sign_new(), upload(code))) == "x-tif-paasid"


async def test_a_platform_issued_pair_and_a_csb_pair_work_as_registered(
    embedded: Embedded,
) -> None:
    admin = await embedded.start()
    [(code, _)] = await admin.world(1)
    http, base = embedded.http, embedded.base
    registered = await issue(admin, {"paasid": "hptfyj", "secret": PLATFORM_TOKEN})
    assert registered["secret"] is None
    answered(await post_hsa(http, base, xtif_java("hptfyj", PLATFORM_TOKEN), upload(code)))

    csb_secret = "jiangsu-csb-secret-01"
    await issue(admin, {"paasid": "js-csb-ak", "secret": csb_secret, "scheme": "csb"})
    url = f"{base}/v1/hsa"
    headers = csb_java(url, "hsa_2204", "1.0.0", "js-csb-ak", csb_secret)
    answered(await post_hsa(http, base, headers, upload(code)))
    # the SDK's default sends no nonce: the signature itself is not accepted twice
    assert refused(await post_hsa(http, base, headers, upload(code))) == "_api_signature"
    with_nonce = csb_java(url, "hsa_2204", "1.0.0", "js-csb-ak", csb_secret, nonce=True)
    answered(await post_hsa(http, base, with_nonce, upload(code)))
    assert refused(await post_hsa(http, base, with_nonce, upload(code))) == "_api_nonce"
    tampered = {**csb_java(url, "hsa_2204", "1.0.0", "js-csb-ak", csb_secret), "_api_name": "x"}
    assert refused(await post_hsa(http, base, tampered, upload(code))) == "_api_signature"
    # CSB headers of an x-tif pair are no credential: the bearer token decides
    bearer = {"Authorization": f"Bearer {await admin.his_token()}"}
    not_csb = csb_java(url, "hsa_2204", "1.0.0", "hptfyj", PLATFORM_TOKEN)
    answered(await post_hsa(http, base, {**bearer, **not_csb}, upload(code)))
    assert refused(await post_hsa(http, base, not_csb, upload(code))) == "_api_access_key"


async def test_the_gatekeepers_inline_protocol_refuses_a_replay_with_local_nonces(
    embedded: Embedded,
) -> None:
    """``ybgate serve gatekeeper`` without Redis: the signed upload is decided inline,
    its nonce claimed in memory; the replay is refused the same way."""
    admin = await embedded.start()
    [(code, _)] = await admin.world(1)
    pair = await issue(admin)
    port = free_port()
    embedded.spawn("gatekeeper", port)
    await embedded.ready(port)
    base = f"http://127.0.0.1:{port}"

    def sign() -> dict[str, str]:
        return xtif_dotnet(pair["paasid"], pair["secret"])

    await until_accepted(embedded.http, base, sign, code)  # the outbox reached it
    headers = sign()
    answered(await post_hsa(embedded.http, base, headers, upload(code)))
    assert refused(await post_hsa(embedded.http, base, headers, upload(code))) == "x-tif-nonce"
