"""The upstream's circuit breaker and header filter (``app/gatekeeper/upstream``), without
sockets: the breaker against a model of its rules under any sequence of events, and the
headers a forward keeps (RFC 9110 section 7.6.1: hop-by-hop fields are not forwarded)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.gatekeeper.upstream.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from app.gatekeeper.upstream.client import forwarded_headers

Event = tuple[str, float]
events = st.lists(
    st.tuples(st.sampled_from(["try", "ok", "fail", "wait"]), st.floats(0, 3)), max_size=60
)


@given(events, st.integers(1, 4))
def test_the_breaker_follows_its_rules(seq: list[Event], threshold: int) -> None:
    now = [0.0]
    breaker = Breaker(threshold, 1.0, clock=lambda: now[0])
    state, in_a_row, opened, probe_out = CLOSED, 0, 0.0, False  # the model
    for kind, dt in seq:
        if kind == "wait":
            now[0] += dt
            continue
        if kind == "try":
            if state == OPEN and now[0] - opened >= 1.0:
                state, probe_out = HALF_OPEN, False
            expected = state == CLOSED or (state == HALF_OPEN and not probe_out)
            if state == HALF_OPEN and expected:
                probe_out = True
            assert breaker.allow() is expected
        elif kind == "ok":
            breaker.success()
            state, in_a_row, probe_out = CLOSED, 0, False
        else:
            breaker.failure()
            in_a_row += 1
            probe_out = False
            if state == HALF_OPEN or (state == CLOSED and in_a_row >= threshold):
                state, opened = OPEN, now[0]
        assert breaker.state == state


def test_a_probe_that_fails_opens_it_again_and_one_that_succeeds_closes_it() -> None:
    now = [0.0]
    breaker = Breaker(2, 5.0, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow() and breaker.state == CLOSED
    breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()
    now[0] = 5.0
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # one probe at a time
    breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()
    now[0] = 10.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and breaker.allow()
    assert breaker.transitions == {CLOSED: 1, OPEN: 2, HALF_OPEN: 2}


def test_hop_by_hop_headers_and_ybgates_token_are_not_forwarded() -> None:
    raw = [
        (b"host", b"ybgate:8000"),
        (b"connection", b"keep-alive, X-Hop"),
        (b"keep-alive", b"timeout=5"),
        (b"x-hop", b"1"),
        (b"te", b"trailers"),
        (b"transfer-encoding", b"chunked"),
        (b"authorization", b"Bearer ybh_x"),
        (b"content-length", b"12"),
        (b"x-tif-paasid", b"hptfyj"),
        (b"_api_name", b"hsa.2204"),
        (b"content-type", b"application/json;charset=utf-8"),
        (b"x-note", "医院".encode()),
    ]
    assert forwarded_headers(raw) == [
        ("x-tif-paasid", "hptfyj"),
        ("_api_name", "hsa.2204"),
        ("content-type", "application/json;charset=utf-8"),
        ("x-note", "医院"),
    ]
