"""Gateway headers computed exactly as public platform clients compute them.

Each function follows one public client's code step by step (names, casing, timestamp
unit, nonce shape, signed text, encoding), so a test that passes proves that client works
unchanged against ybgate:

* :func:`xtif_dotnet` — a .NET client, ``ProxyUtil.ComputeSignatureHeaders`` (namespace
  ``Gmap.Utils``, a proxy for the Guangdong gateway): ``x-tif-paasId`` (capital I),
  Unix seconds from ``DateTimeOffset.Now.ToUnixTimeSeconds()``, nonce
  ``ms.ToString("x") + "-" + floor(random * 0xFFFFFF).ToString("x")``, signature
  ``ToSha256(timestamp + paasToken + nonce + timestamp)`` as ``x2`` hex.
* :func:`xtif_java` — a Java client, ``HeaderUtil.getHeader2`` (package
  ``org.example.javabase.bmsk``): ``x-tif-paasid``, ``floor(ms / 1000)``, nonce
  ``Long.toHexString(ms) + "-" + Long.toHexString(floor(random * 0xFFFFFF))``, signature
  ``toSHA256(timestamp + paasToken + nonce + timestamp)`` (``byte2Hex``, lowercase).
* :func:`csb_java` — Alibaba Cloud's CSB SDK, repository ``aliyun/csb-sdk``:
  ``common/src/main/java/com/alibaba/csb/sdk/security/SignUtil.java`` (``newParamsMap``:
  the URL's parameters plus ``_api_name``, ``_api_version``, ``_api_nonce`` when the
  caller asks for one, ``_api_timestamp`` in milliseconds, ``_api_access_key``;
  ``_api_signature`` left out), ``SortedParamList.java`` + ``ParamNode.java`` (sorted
  by name, then value; ``name=value`` joined with ``&``), ``SpasSigner.java``
  (Base64(HmacSHA1(secretKey as UTF-8, text as UTF-8)), the default of
  ``DefaultSignServiceImpl.java``); ``http-client/.../HttpCaller.java`` ``doPost``
  does not sign a JSON content body (``csb_sign_content_body`` defaults to false).
* :func:`csb_dotnet` — repository ``neozhu/csb-sdk.net``, ``CSBSDK.NET/HttpCaller.cs``
  (``newParamsMap``: URL parameters, then ``_api_access_key``, ``_api_name``,
  ``_api_timestamp`` (UTC milliseconds), ``_api_version`` in insertion order) and
  ``CSBSDK.NET/SignUtil.cs`` (``{0}={1}&`` joined, HMACSHA1, Base64): without URL
  parameters its insertion order is the sorted order of the Java SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import random
import time
from urllib.parse import parse_qsl, urlsplit


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def xtif_dotnet(paas_id: str, paas_token: str, now: float | None = None) -> dict[str, str]:
    now = time.time() if now is None else now
    timestamp = str(int(now))  # ToUnixTimeSeconds(): whole seconds
    nonce = format(int(now * 1000), "x") + "-" + format(math.floor(random.random() * 0xFFFFFF), "x")
    return {  # insertion order as the client adds them
        "x-tif-paasId": paas_id,
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": _sha256_hex(timestamp + paas_token + nonce + timestamp),
    }


def xtif_java(paas_id: str, paas_token: str, now: float | None = None) -> dict[str, str]:
    ms = int((time.time() if now is None else now) * 1000)
    timestamp = str(math.floor(ms / 1000))
    nonce = format(ms, "x") + "-" + format(math.floor(random.random() * 0xFFFFFF), "x")
    return {
        "x-tif-paasid": paas_id,
        "x-tif-timestamp": timestamp,
        "x-tif-signature": _sha256_hex(timestamp + paas_token + nonce + timestamp),
        "x-tif-nonce": nonce,
    }


def _hmac_sha1_b64(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def csb_java(
    url: str,
    api_name: str,
    version: str,
    access_key: str,
    secret_key: str,
    *,
    now: float | None = None,
    nonce: bool = False,
) -> dict[str, str]:
    ms = str(int((time.time() if now is None else now) * 1000))
    params = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    headers = {"_api_name": api_name, "_api_version": version}
    if nonce:
        headers["_api_nonce"] = str(random.randint(-(2**63), 2**63 - 1))  # nextLong()
    headers["_api_timestamp"] = ms
    headers["_api_access_key"] = access_key
    signed = sorted([*params, *headers.items()])  # ParamNode.compareTo: name, then value
    text = "&".join(f"{k}={v}" for k, v in signed)
    headers["_api_signature"] = _hmac_sha1_b64(secret_key, text)
    return headers


def csb_dotnet(
    api_name: str, version: str, access_key: str, secret_key: str, *, now: float | None = None
) -> dict[str, str]:
    ms = str(int((time.time() if now is None else now) * 1000))
    params = {  # Dictionary insertion order, as newParamsMap adds them
        "_api_access_key": access_key,
        "_api_name": api_name,
        "_api_timestamp": ms,
        "_api_version": version,
    }
    signature = _hmac_sha1_b64(secret_key, "&".join(f"{k}={v}" for k, v in params.items()))
    return {
        "_api_name": api_name,
        "_api_timestamp": ms,
        "_api_access_key": access_key,
        "_api_signature": signature,
        "_api_version": version,
    }
