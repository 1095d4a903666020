"""The gatekeeper's OpenAPI 3.1 document, built from the msgspec Structs it decodes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from app.core.errors import PROBLEM_CT
from app.gatekeeper.national.docs import AuditRequestDoc, AuditResult, HsaRequest, HsaResponse
from app.gatekeeper.national.requests import (
    InpatientWithdrawal,
    MdtrtInfo,
    OutpatientWithdrawal,
    StaffQuery,
)
from app.gatekeeper.national.schemas import Roster
from app.gatekeeper.plain.schemas import Eligibility, Problem, SettlementDecision, SettlementRequest
from app.gatekeeper.plain.validate import VALIDATE_PATH
from app.registry.explained import ExplainedDecision

ELIGIBILITY_PATH = "/v1/physicians/{code}/eligibility"
DECISION_PATH = "/v1/decisions/{decision_id}"


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CT: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def openapi_document(
    max_lines: int = 1000,
    max_body_bytes: int = 1 << 20,
    platform_paths: Iterable[str] = (),
) -> dict[str, Any]:
    """The gatekeeper's OpenAPI document; ``platform_paths``: the platform's own paths it
    serves in 前置 mode (``YBGATE_HSA_PATHS``), when an upstream is set."""
    components = _components(max_lines)
    auth: list[dict[str, list[str]]] = [{"bearer": []}]
    common = {
        "400": _problem("The Authorization header was sent more than once."),
        "401": _problem("No valid HIS bearer token."),
        "403": _problem("The token's institution is not the request's institution."),
        "422": _problem("Validation failed; `errors` names each field by its JSON path."),
        "503": _problem("The registry is not loaded or the decision log cannot keep up."),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ybgate gatekeeper (HIS)",
            "version": "1",
            "description": "Physician-agreement check of settlement lines, for hospital HIS.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, **GATEWAY_SCHEMES},
        },
        "paths": {
            **_validate_path(max_lines, max_body_bytes, common, auth),
            **_eligibility_path(common, auth),
            **his_paths(max_lines, max_body_bytes, common, auth),
            **_platform_paths(sorted(platform_paths), max_lines, max_body_bytes, common, auth),
            **_decision_path(common, auth),
            **_probe_paths(),
        },
    }


def _components(max_lines: int) -> dict[str, Any]:
    """The schemas, with the real bounds of the requests."""
    (_, components) = msgspec.json.schema_components(
        [
            SettlementRequest,
            SettlementDecision,
            Eligibility,
            Problem,
            ExplainedDecision,
            HsaRequest,
            HsaResponse,
            AuditResult,
            StaffQuery,
            MdtrtInfo,
            OutpatientWithdrawal,
            InpatientWithdrawal,
            AuditRequestDoc,
            Roster,
        ],
        ref_template="#/components/schemas/{name}",
    )
    # The real bounds of the request (checked by the hot path after decoding).
    request = components["SettlementRequest"]
    request["properties"]["lines"].update(minItems=1, maxItems=max_lines)
    line = components["SettlementLine"]["properties"]["service_date"]
    line["description"] = "1990-01-01 to one day after today (Asia/Shanghai)."
    feedetail = components["HsaInputDoc"]["properties"]["feedetail"]["anyOf"][0]
    feedetail.update(minItems=1, maxItems=max_lines)
    return components


def _validate_path(
    max_lines: int, max_body_bytes: int, common: dict[str, Any], auth: list[dict[str, list[str]]]
) -> dict[str, Any]:
    """POST /v1/settlements/validate."""
    return {
        VALIDATE_PATH: {
            "post": {
                "operationId": "validateSettlement",
                "summary": "Decide every line of a settlement as of its service date",
                "security": auth,
                "requestBody": {
                    "required": True,
                    "description": f"1-{max_lines} lines; at most {max_body_bytes} bytes.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/SettlementRequest"}
                        }
                    },
                },
                "responses": {
                    "200": _json("SettlementDecision", "The decision, lines in order."),
                    **common,
                    "413": _problem("The body is larger than allowed."),
                },
            }
        },
    }


def _eligibility_path(common: dict[str, Any], auth: list[dict[str, list[str]]]) -> dict[str, Any]:
    """GET /v1/physicians/{code}/eligibility."""
    return {
        ELIGIBILITY_PATH: {
            "get": {
                "operationId": "physicianEligibility",
                "summary": "The same judgement for one physician at one institution",
                "security": auth,
                "parameters": [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "institution",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "date",
                        "in": "query",
                        "required": False,
                        "description": "Default: today in Asia/Shanghai.",
                        "schema": {"type": "string", "format": "date"},
                    },
                ],
                "responses": {"200": _json("Eligibility", "The judgement."), **common},
            }
        },
    }


def _decision_path(common: dict[str, Any], auth: list[dict[str, list[str]]]) -> dict[str, Any]:
    """GET /v1/decisions/{decision_id}."""
    return {
        DECISION_PATH: {
            "get": {
                "operationId": "explainDecision",
                "summary": "A decision of the token's institution, each line with its basis",
                "description": (
                    "The logged decision (readable as soon as it is answered), each "
                    "line's verdict and the fact that decided it on the record as of "
                    "the decision's registry version (with the action, violation and "
                    "clause that caused it where one did), and the first later version "
                    "that changed the physician's record. Another institution's "
                    "decision is 404, like an unknown id."
                ),
                "security": auth,
                "parameters": [
                    {
                        "name": "decision_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json("ExplainedDecision", "The decision, explained."),
                    "401": common["401"],
                    "403": _problem("An admin token (valid, but not for the HIS API)."),
                    "404": _problem("No such decision of this institution."),
                    "503": _problem("The gatekeeper is starting."),
                },
            }
        },
    }


def _probe_paths() -> dict[str, Any]:
    """Health, readiness and metrics."""
    return {
        "/healthz": {
            "get": {"summary": "Process alive", "responses": {"200": {"description": "alive"}}}
        },
        "/readyz": {
            "get": {
                "summary": "Registry loaded and fresh",
                "responses": {
                    "200": {"description": "ready"},
                    "503": _problem("Not loaded, or older than registry_max_age_s."),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "text exposition format"}},
            }
        },
    }


def his_paths(
    max_lines: int,
    max_body_bytes: int,
    common: dict[str, Any],
    auth: list[dict[str, list[str]]],
) -> dict[str, Any]:
    """POST /v1/hsa (the national platform's format) and GET /v1/roster."""
    return {
        **_hsa_path(max_lines, max_body_bytes, common, auth),
        **_roster_path(common, auth),
    }


def _roster_path(common: dict[str, Any], auth: list[dict[str, list[str]]]) -> dict[str, Any]:
    """GET /v1/roster."""
    query = [
        ("since_version", "Only what changed after this registry_version.", {"minimum": 0}),
        ("after", "Paging: codes after this one (next_after).", {"maxLength": 64}),
        ("limit", "Page size.", {"minimum": 1, "maximum": 5000, "default": 1000}),
    ]
    return {
        "/v1/roster": {
            "get": {
                "operationId": "institutionRoster",
                "summary": "The token's institution's physicians with their dated windows",
                "security": auth,
                "parameters": [
                    {
                        "name": name,
                        "in": "query",
                        "required": False,
                        "description": text,
                        "schema": {"type": "integer" if name != "after" else "string", **bound},
                    }
                    for name, text, bound in query
                ]
                + [
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json("Roster", "The roster (or the delta); ETag header."),
                    "304": {"description": "Unchanged since the ETag sent in If-None-Match."},
                    **common,
                },
            }
        },
    }


# The platform gateway's signature headers (docs/his-gateway.md), each one apiKey scheme.
_XTIF = ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature")
_CSB = ("_api_access_key", "_api_timestamp", "_api_signature")
GATEWAY_SCHEMES = {name: {"type": "apiKey", "in": "header", "name": name} for name in _XTIF + _CSB}
GATEWAY_SECURITY: list[dict[str, list[str]]] = [{n: [] for n in _XTIF}, {n: [] for n in _CSB}]


def _platform_paths(
    paths: list[str],
    max_lines: int,
    max_body_bytes: int,
    common: dict[str, Any],
    auth: list[dict[str, list[str]]],
) -> dict[str, Any]:
    """前置 mode: each platform path, the operation of /v1/hsa, forwarded upstream."""
    post = _hsa_path(max_lines, max_body_bytes, common, auth)["/v1/hsa"]["post"]
    forwarded = (
        " 前置 mode (docs/his-frontend.md): a message that passes (every message other than "
        "a 2204/2301, and a 2204/2301 whose lines all pass) is forwarded to the platform "
        "at YBGATE_HSA_UPSTREAM + this path and the platform's answer returned unchanged; "
        "no answer within YBGATE_HSA_UPSTREAM_TIMEOUT_S, or a refused connection: infcode -1."
    )
    return {
        path: {
            "post": {
                **post,
                "operationId": f"platformPath{i}",
                "description": post["description"] + forwarded,
            }
        }
        for i, path in enumerate(paths, 1)
    }


def _hsa_path(
    max_lines: int,
    max_body_bytes: int,
    common: dict[str, Any],
    auth: list[dict[str, list[str]]],
) -> dict[str, Any]:
    """POST /v1/hsa and POST /v1/hsa/{infno} (the same operation)."""
    operation = {
        "summary": "The national platform's messages: 2204/2301 fee uploads (every feedetail "
        "judged), 5102 staff query, 3101/3102 audit, 2201/2203/2401 visits, 2205/2302 "
        "withdrawals",
        "description": (
            "The national platform's wrapper in and out (docs/his-national.md). A malformed "
            "message, or an infno ybgate does not serve, is HTTP 200 with infcode -1 and "
            "err_msg naming the field's path. Fee uploads are idempotent on msgid per "
            "institution for 24 h. 3101/3102 answer output.result as a list of AuditResult. "
            "A UTF-8 byte-order mark before the JSON is ignored. Signed with the platform "
            "gateway's x-tif headers (or a CSB pair's _api_* headers) instead of, or "
            "besides, a bearer token: docs/his-gateway.md."
        ),
        "security": [*auth, *GATEWAY_SECURITY],
        "requestBody": {
            "required": True,
            "description": f"1-{max_lines} feedetail items; at most {max_body_bytes} bytes.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/HsaRequest"}}
            },
        },
        "responses": {
            "200": _json("HsaResponse", "The platform's wrapper: infcode 0 or -1."),
            "400": common["400"],
            "401": common["401"],
            "403": _problem("fixmedins_code is not the token's institution."),
            "413": _problem("The body is larger than allowed."),
            "503": common["503"],
        },
    }
    with_path = {
        **operation,
        "parameters": [
            {
                "name": "infno",
                "in": "path",
                "required": True,
                "description": "The transaction; the body's infno, when given, must be it.",
                "schema": {"type": "string", "maxLength": 8},
            }
        ],
    }
    return {
        "/v1/hsa": {"post": {"operationId": "nationalPlatformMessage", **operation}},
        "/v1/hsa/{infno}": {"post": {"operationId": "nationalPlatformMessageByPath", **with_path}},
    }
