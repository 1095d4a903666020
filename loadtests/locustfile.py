"""Load test of the gatekeeper (``make loadtest``): HIS systems posting the benchmark's
synthetic settlements, and registration desks checking eligibility.

Runs against ``make bench-serve`` (the synthetic registry of ../shared/bench/synth.py, HIS
token ``bench-token`` for the bench institution). Any non-200 answer, or a 200 whose body
is not a decision for the settlement sent, counts as a failure (locust then exits 1).
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

from locust import FastHttpUser, between, task

SHARED = Path(os.environ.get("SHARED", Path(__file__).resolve().parents[2] / "shared"))
sys.path.insert(0, str(SHARED / "bench"))

import synth  # noqa: E402

TOKEN = os.environ.get("BENCH_TOKEN", "bench-token")
INSTITUTION = synth.institution(synth.BENCH_INSTITUTION)
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
# A few distinct settlements of each size, encoded once.
PAYLOADS = [
    (json.dumps(synth.payload(lines, seed)).encode(), lines)
    for lines in (1, 5, 20, 20, 20, 200)
    for seed in range(4)
]
CODES = [synth.code(synth.BENCH_INSTITUTION + synth.INSTITUTIONS * k) for k in range(200)]


class HisSystem(FastHttpUser):
    """A hospital HIS validating settlements while patients wait."""

    weight = 9
    wait_time = between(0.0, 0.01)

    @task
    def validate(self) -> None:
        body, lines = random.choice(PAYLOADS)
        with self.client.post(
            "/v1/settlements/validate",
            data=body,
            headers=HEADERS,
            name=f"/v1/settlements/validate [{lines} lines]",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}: {resp.text[:200]}")
                return
            answer = resp.json()
            if len(answer.get("lines", ())) != lines or not answer.get("decision_id"):
                resp.failure("not a decision for this settlement")


class RegistrationDesk(FastHttpUser):
    """Checks a physician's eligibility when a patient registers."""

    weight = 1
    wait_time = between(0.0, 0.05)

    @task
    def eligibility(self) -> None:
        code = random.choice(CODES)
        with self.client.get(
            f"/v1/physicians/{code}/eligibility?institution={INSTITUTION}&date={synth.SERVICE_DATE}",
            headers=HEADERS,
            name="/v1/physicians/{code}/eligibility",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}: {resp.text[:200]}")
            elif resp.json().get("physician_code") != code:
                resp.failure("answer for another physician")
