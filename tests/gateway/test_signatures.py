"""Gateway signatures without I/O: the checks of ``app/gatekeeper/edge/gateway.py`` on
headers computed exactly as public clients compute them (``tests/gateway/clients.py``
cites each), and the in-memory nonce store."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import BadRequest, NotReady, Unauthenticated
from app.core.secrets import SecretBox, SecretUnreadable
from app.gatekeeper.edge.gateway import Signed, csb_text, repeated, verify
from app.gatekeeper.edge.nonces import Claim, LocalNonces
from app.registry.compact import Registry
from app.registry.facts import GatewayCredentialFact, empty_patch
from tests.gateway.clients import csb_dotnet, csb_java, xtif_dotnet, xtif_java

BOX = SecretBox(b"k" * 32)
NOW = 1_790_000_000.0
TOKEN = "L950GcMXgDfm1BvTH1NoP7Hajk1HVIYv"  # a paasToken of the platform's shape
CSB_SECRET = "csb-secret-key-0001"


def fact(
    inst: str, paasid: str, secret: str, scheme: str = "x-tif", until: float | None = None
) -> GatewayCredentialFact:
    return GatewayCredentialFact(
        institution=inst, scheme=scheme, secret=BOX.seal(secret, paasid), valid_until=until
    )


def registry(**pairs: GatewayCredentialFact) -> Registry:
    patch = empty_patch(1)
    patch["gateway_credentials"] = dict(pairs)
    return Registry.from_patch(patch)


REG = registry(
    hptfyj=fact("H1", "hptfyj", TOKEN),
    old=fact("H1", "old", "old-secret-000", until=NOW - 1),
    csbak=fact("H2", "csbak", CSB_SECRET, "csb"),
    h3=fact("H3", "h3", "another-secret"),
)


def as_raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The headers as the server hands them over: names lower-cased."""
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


def check(
    headers: dict[str, str],
    now: float = NOW,
    *,
    bearer: bool = False,
    where: tuple[str, bytes] = ("/v1/hsa", b""),
) -> Signed | None:
    raw = as_raw(headers)
    return verify(REG, dict(raw), raw, where, now, BOX, bearer=bearer)


def refused_field(headers: dict[str, str], now: float = NOW) -> str:
    with pytest.raises(Unauthenticated) as caught:
        check(headers, now)
    assert caught.value.status == 401
    field: str = caught.value.extra["errors"][0]["field"]
    return field


@pytest.mark.parametrize("client", [xtif_dotnet, xtif_java])
def test_xtif_as_public_clients_sign_it_names_the_institution_and_its_nonce(
    client: Callable[[str, str, float], dict[str, str]],
) -> None:
    headers = client("hptfyj", TOKEN, NOW)
    signed = check(headers)
    assert signed is not None and signed.institution == "H1"
    nonce = headers["x-tif-nonce"]
    assert signed.claims == [Claim("x-tif-nonce", f"hptfyj:{nonce}")]


def test_the_signed_text_is_timestamp_secret_nonce_timestamp() -> None:
    """CONTRACT.md "Gateway signature": lowercase hex SHA-256 of ts + secret + nonce + ts."""
    ts, nonce = str(int(NOW)), "18c5-abc"
    sig = hashlib.sha256(f"{ts}{TOKEN}{nonce}{ts}".encode()).hexdigest()
    headers = {"x-tif-paasid": "hptfyj", "x-tif-timestamp": ts, "x-tif-nonce": nonce}
    assert check({**headers, "x-tif-signature": sig}) is not None
    # the same digest in capitals is the same value; any other text is not
    assert check({**headers, "x-tif-signature": sig.upper()}) is not None
    other = hashlib.sha256(f"{ts}{nonce}{TOKEN}{ts}".encode()).hexdigest()
    assert refused_field({**headers, "x-tif-signature": other}) == "x-tif-signature"


def test_each_refusal_names_the_header_at_fault() -> None:
    good = xtif_java("hptfyj", TOKEN, NOW)
    assert refused_field({**good, "x-tif-paasid": "nobody"}) == "x-tif-paasid"
    assert refused_field(xtif_java("old", "old-secret-000", NOW)) == "x-tif-paasid"  # expired
    assert refused_field(xtif_java("csbak", CSB_SECRET, NOW)) == "x-tif-paasid"  # a CSB pair
    assert refused_field({**good, "x-tif-signature": "0" * 64}) == "x-tif-signature"
    assert refused_field({**good, "x-tif-signature": "签名" * 32}) == "x-tif-signature"
    assert refused_field(xtif_java("hptfyj", "wrong-token", NOW)) == "x-tif-signature"
    assert refused_field({**good, "x-tif-timestamp": "12x"}) == "x-tif-timestamp"
    assert refused_field({**good, "x-tif-timestamp": "١٧٩٠٠٠٠٠٠٠"}) == "x-tif-timestamp"
    assert refused_field({**good, "x-tif-nonce": "n" * 129}) == "x-tif-nonce"
    for name in ("x-tif-timestamp", "x-tif-nonce", "x-tif-signature"):
        missing = {k: v for k, v in good.items() if k != name}
        assert refused_field(missing) == name


def test_clock_window_is_300_seconds_either_way() -> None:
    signed_at = NOW
    headers = xtif_dotnet("hptfyj", TOKEN, signed_at)
    assert check(headers, signed_at + 300) is not None
    assert check(headers, signed_at - 300) is not None
    assert refused_field(headers, signed_at + 301) == "x-tif-timestamp"
    assert refused_field(headers, signed_at - 301) == "x-tif-timestamp"


def test_csb_as_the_java_sdk_signs_it() -> None:
    """aliyun/csb-sdk SignUtil.newParamsMap + SpasSigner (HmacSHA1, Base64)."""
    url = "http://gw.example/v1/hsa?b=2&a=1"
    headers = csb_java(url, "hsa2204", "1.0.0", "csbak", CSB_SECRET, now=NOW)
    signed = check(headers, where=("/v1/hsa", b"b=2&a=1"))
    assert signed is not None and signed.institution == "H2"
    assert signed.claims == [Claim("_api_signature", f"csbak:s:{headers['_api_signature']}")]
    with_nonce = csb_java(url, "hsa2204", "1.0.0", "csbak", CSB_SECRET, now=NOW, nonce=True)
    signed = check(with_nonce, where=("/v1/hsa", b"b=2&a=1"))
    assert signed is not None and signed.claims[0].field == "_api_nonce"
    # the query is signed: another query does not match
    with pytest.raises(Unauthenticated) as caught:
        check(headers, where=("/v1/hsa", b"a=1&b=3"))
    assert caught.value.extra["errors"][0]["field"] == "_api_signature"


def test_csb_with_hmac_sha256_as_the_java_sdk_sends_it() -> None:
    """HttpParameters.Builder.signAlgorithm(HmacSHA256): the header `_api_sign_algorithm`
    goes unsigned, the signature is HMAC-SHA256 (SpasSigner)."""
    headers = csb_java("http://gw/v1/hsa", "api", "1.0", "csbak", CSB_SECRET, now=NOW)
    text = "&".join(f"{k}={v}" for k, v in sorted(headers.items()) if k != "_api_signature")
    mac = hmac.new(CSB_SECRET.encode(), text.encode(), hashlib.sha256).digest()
    sha256 = {**headers, "_api_signature": base64.b64encode(mac).decode()}
    assert check({**sha256, "_api_sign_algorithm": "HmacSHA256"}) is not None
    assert refused_field(sha256) == "_api_signature"  # read as HmacSHA1 without the header
    assert refused_field({**sha256, "_api_sign_algorithm": "HmacMD5"}) == "_api_sign_algorithm"


def test_csb_as_the_dotnet_sdk_signs_it() -> None:
    """neozhu/csb-sdk.net HttpCaller.newParamsMap + SignUtil.sign: insertion order, which
    without URL parameters is the Java SDK's sorted order."""
    headers = csb_dotnet("hsa2204", "1.0.0", "csbak", CSB_SECRET, now=NOW)
    signed = check(headers)
    assert signed is not None and signed.institution == "H2"


def test_the_csb_text_is_sorted_name_value_pairs() -> None:
    raw = as_raw({"_api_version": "1.0", "_api_name": "x", "_api_signature": "s", "other": "o"})
    assert csb_text(raw, "/v1/hsa", b"z=1&a=2") == "_api_name=x&_api_version=1.0&a=2&z=1"
    raw.append((b"restful_protocol_version", b"1.0"))
    assert csb_text(raw, "/v1/hsa/2204", b"").endswith(
        "&csb_restful_path_signature_key=/v1/hsa/2204"
    )


def test_csb_refusals_name_their_header() -> None:
    good = csb_java("http://gw/v1/hsa", "api", "1.0", "csbak", CSB_SECRET, now=NOW)
    assert refused_field({**good, "_api_signature": "AAAA"}) == "_api_signature"
    assert refused_field({**good, "_api_signature": "签名"}) == "_api_signature"
    stale = csb_java("http://gw/v1/hsa", "api", "1.0", "csbak", CSB_SECRET, now=NOW - 301)
    assert refused_field(stale) == "_api_timestamp"
    assert refused_field({**good, "_api_name": "other"}) == "_api_signature"  # signed


def test_csb_headers_of_a_pair_that_is_not_csb_are_not_a_credential() -> None:
    """CONTRACT.md: `_api_*` verified only for an institution whose pair is a CSB pair."""
    headers = csb_java("http://gw/v1/hsa", "api", "1.0", "hptfyj", TOKEN, now=NOW)
    assert check(headers, bearer=True) is None  # left alone: the bearer token decides
    assert refused_field(headers) == "_api_access_key"  # and alone they authenticate nobody


def test_two_schemes_must_name_the_same_institution() -> None:
    both = {**xtif_java("hptfyj", TOKEN, NOW), **xtif_java("hptfyj", TOKEN, NOW)}
    assert check(both) is not None
    mixed = {
        **xtif_java("hptfyj", TOKEN, NOW),
        **csb_java("http://g/", "a", "1", "csbak", CSB_SECRET, now=NOW),
    }
    assert refused_field(mixed) == "_api_access_key"


def test_a_gateway_header_sent_twice_is_a_bad_request_naming_it() -> None:
    raw = [*as_raw(xtif_java("hptfyj", TOKEN, NOW)), (b"x-tif-nonce", b"again")]
    with pytest.raises(BadRequest) as caught:
        repeated(raw)
    assert caught.value.extra["errors"][0]["field"] == "x-tif-nonce"


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=64),
    nonce=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=128),
    skew=st.integers(-300, 300),
    flip=st.integers(0, 63),
)
def test_property_a_client_signature_verifies_and_any_changed_digit_does_not(
    secret: str, nonce: str, skew: int, flip: int
) -> None:
    reg = registry(p=fact("H9", "p", secret))
    ts = str(int(NOW) + skew)
    sig = hashlib.sha256((ts + secret + nonce + ts).encode()).hexdigest()
    headers = {"x-tif-paasid": b"p", "x-tif-timestamp": ts.encode(), "x-tif-nonce": nonce.encode()}
    h = {k.encode(): v for k, v in headers.items()}
    ok = verify(
        reg, {**h, b"x-tif-signature": sig.encode()}, [], ("/", b""), NOW, BOX, bearer=False
    )
    assert ok is not None and ok.institution == "H9"
    bad = sig[:flip] + ("0" if sig[flip] != "0" else "1") + sig[flip + 1 :]
    with pytest.raises(Unauthenticated):
        verify(reg, {**h, b"x-tif-signature": bad.encode()}, [], ("/", b""), NOW, BOX, bearer=False)


def test_a_sealed_secret_opens_only_with_its_key_and_its_paasid() -> None:
    sealed = BOX.seal(TOKEN, "hptfyj")
    assert TOKEN not in sealed and BOX.open(sealed, "hptfyj") == TOKEN.encode()
    with pytest.raises(SecretUnreadable):
        BOX.open(sealed, "another-paasid")
    with pytest.raises(SecretUnreadable):
        SecretBox(b"x" * 32).open(sealed, "hptfyj")


def test_local_nonces_refuse_a_replay_until_600_seconds_have_passed() -> None:
    store = LocalNonces(1 << 20)
    claim = [Claim("x-tif-nonce", "hptfyj:n1")]
    store.claim_now(claim, now=0.0)
    with pytest.raises(Unauthenticated) as caught:
        store.claim_now(claim, now=599.0)
    assert caught.value.extra["errors"][0]["field"] == "x-tif-nonce"
    store.claim_now(claim, now=600.5)  # forgotten after the window
    assert len(store.seen) == 1


def test_local_nonces_are_bounded_in_bytes_and_refuse_rather_than_forget() -> None:
    store = LocalNonces(64 * 1024)
    n = 0
    with pytest.raises(NotReady):
        while True:
            store.claim_now([Claim("x-tif-nonce", f"p:{n:08d}")], now=float(n) / 1000)
            n += 1
    assert 300 < n < 1000 and store.bytes <= 64 * 1024
    # every nonce kept is still refused; once they expire there is room again
    with pytest.raises(Unauthenticated):
        store.claim_now([Claim("x-tif-nonce", "p:00000000")], now=1.0)
    store.claim_now([Claim("x-tif-nonce", "p:new")], now=700.0)
    assert len(store.seen) == 1
