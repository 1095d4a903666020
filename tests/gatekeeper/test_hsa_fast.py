"""The C fast path of 2204/2301 fee uploads (app/gatekeeper/national/fast.py, csrc/) against
the reference (msgspec + hsa.fee_judge): random messages, well-formed and damaged, get
byte-for-byte the same answer, the same decision to log (plain response and inputs) and
the same msgid record, first time and replayed. The fast path may only decline a message
(the reference then decides it); it may never answer one differently."""

from __future__ import annotations

import json
import random
import re
from datetime import date, timedelta
from typing import Any

import msgspec
import pytest

from app.core.errors import DomainError
from app.core.settings import get_settings
from app.gatekeeper import GatekeeperApp
from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.national import fast as fast_path
from app.gatekeeper.national.fee import FeeDecision
from app.gatekeeper.national.hsa import begin
from app.gatekeeper.national.upload import claimed
from tests.gatekeeper.test_differential import INSTITUTIONS, local, rand_code, rand_day, world

# Where the extension is not built (no compiler at install) or is switched off, the
# reference alone serves: tests/gatekeeper/test_fast_path_switch.py covers that.
pytestmark = pytest.mark.skipif(
    not fast_path.active(get_settings().hsa_fast_path),
    reason="the C fast path is not built or YBGATE_HSA_FAST_PATH=off",
)
scan = fast_path.scan

# An amount as the HIS may write it: (JSON text, in the fast subset?)
AMOUNTS = [
    ("12.50", True),
    ("12.5", True),
    ("12", True),
    ("0", True),
    ("0.07", True),
    ('"12.50"', True),
    ('"7.5"', True),
    ('"007.50"', True),
    ('"3"', True),
    ("9999999999999999.99", True),
    ('"58.0000"', True),  # a 4-scale database decimal through ToString (Shunde 2301)
    ("12.5000", True),
    ('"0.1000"', True),
    ("1.230", True),
    ('"12.3450"', False),
    ('"-5.00"', False),  # a refund
    ("-5", False),
    ("1e2", False),
    ("-1.00", False),
    ("null", False),
    ('"1.234"', False),
    ('"1,00"', False),
    ('" 1.00"', False),
    ("99999999999999999", False),
    ("true", False),
]
# Damage that keeps the message JSON (or nearly so): each is its own small case.
EXTRAS = [
    ',"ext":{"a":[1,2.5e3,true,null,{"b":"中文"}],"c":-0.5E-2}',
    ',"feedetl_sn":"again"',
    ',"med_type":13',
    ',"med_type":null',
    ',"med_type":"123456789"',
    ',"bilg_dr_name":"名\\"字"',
    ',"x":"\x01"',
    ',"x":[1,]',
    ',"x":01',
    ',"x":tru',
    ',"x":"\xe4\xb8"',
]
NOISE = b'{}[],:"\\ 0a.-e\t\n\xe4'
FAST_AMOUNTS = [a for a, fast in AMOUNTS if fast]
# cnt and pric as clients write them (read, not judged): numbers, F4 strings, null
COUNTS = ("1", "1.0000", '"1.0000"', '"58.0000"', "null", '"2"', "-1", "0.333333")
VISITS = ('"M1"', '"M2"', '"M3"', "null", '""')
BATCHES = ('"B1"', '"B2"', "null")  # M2 is an emergency visit (visit memory)
LINE_OPTIONAL = (
    '"exp_content":null',
    '"exp_content":""',
    '"init_feedetl_sn":""',
    '"init_feedetl_sn":null',
    '"med_type":null',
    '"med_type":""',
    '"orders_dr_code":""',
    '"orders_dr_code":null',
)
# What sends a line to the reference (a refund, a marker, an odd value) or names it.
UNUSUAL = [
    '"exp_content":{"er_flag":"1"}',
    '"exp_content":[{"er_flag":"1"}]',
    '"exp_content":"{\\"er_flag\\":\\"1\\"}"',
    '"exp_content":"急诊"',
    '"init_feedetl_sn":"L0"',
    '"init_feedetl_sn":0',
    '"cnt":"一"',
    '"pric":true',
    '"cnt":1e2',
    '"mdtrt_id":"门诊"',
    # nhsa-2024 相关人员: a second staff code on the line (the fast path declines it)
    '"orders_dr_code":"D330100000006"',
    '"orders_dr_code":"YB000000000000000000000002"',
    '"orders_dr_code":"N330100000001"',
]


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def message(rnd: random.Random, facts: Any, codes: list[str], days: list[str], k: int) -> bytes:
    inst = rnd.choice(INSTITUTIONS)
    infno = rnd.choice(("2204", "2301"))
    here = local(facts, inst)
    bill_days = sorted({rand_day(rnd, days) for _ in range(rnd.choice((1, 1, 2, 3, 14)))})
    n = rnd.randrange(1, 60)
    odd = rnd.randrange(n) if rnd.random() < 0.3 else -1  # the one line made unusual
    int_sns = rnd.random() < 0.2  # a Java client's integer counters
    lines = []
    for j in range(n):
        local_code = here and rnd.random() < 0.6
        code = rnd.choice(here)[0] if local_code else rand_code(rnd, facts, codes)
        fields = [
            f'"feedetl_sn":{_json_text(j if int_sns else f"L{j}")}',
            f'"mdtrt_id":{rnd.choice(VISITS)}',
            f'"fee_ocur_time":"{bill_days[j * len(bill_days) // n]} 09:12:00"',
            f'"bilg_dr_codg":{_json_text(code)}',
            f'"cnt":{rnd.choice(COUNTS)},"pric":{rnd.choice(COUNTS)},"bilg_dr_name":"张三"',
            f'"det_item_fee_sumamt":{rnd.choice(FAST_AMOUNTS)}',
            '"psn_no":"P1"',
            f'"chrg_bchno":{rnd.choice(BATCHES)}',
        ]
        if rnd.random() < 0.3:
            fields.append(f'"med_type":{_json_text(rnd.choice(("11", "13", "24", "41")))}')
        elif rnd.random() < 0.2:
            fields.append(rnd.choice(LINE_OPTIONAL))
        if j == odd:
            _unusual(rnd, fields, days)
        rnd.shuffle(fields)
        lines.append("{" + ",".join(fields) + "}")
    med = rnd.choice(('"11"', '"13"', '"24"', "null", '"11"', '""'))
    body = (
        f'{{"infno":"{infno}","msgid":"F-{k}","fixmedins_code":"{inst}","med_type":{med},'
        f'"opter_name":"收费员","input":{{"feedetail":[{",".join(lines)}]}}}}'
    ).encode()
    roll = rnd.random()
    if roll < 0.10:
        try:  # re-indented as it stands (numbers keep their text)
            body = msgspec.json.format(body, indent=rnd.choice((1, 2, 4)))
        except msgspec.DecodeError:  # an extra made it not JSON
            return body
        if rnd.random() < 0.5:  # Newtonsoft's Formatting.Indented on Windows: CRLF
            body = body.replace(b"\n", b"\r\n")
    elif roll < 0.15:
        body = body.replace(b'"input":{', b'"input":{"data":' + rnd.choice((b"null", b"{}")) + b",")
    elif roll < 0.30:  # one byte damaged
        at = rnd.randrange(len(body))
        body = body[:at] + bytes([rnd.choice(NOISE)]) + body[at + rnd.randrange(2) :]
    if rnd.random() < 0.1:
        body = b"\xef\xbb\xbf" + body  # a byte-order mark
    return body


def _unusual(rnd: random.Random, fields: list[str], days: list[str]) -> None:
    roll = rnd.randrange(8)
    if roll == 0:
        fields[5] = f'"det_item_fee_sumamt":{rnd.choice(AMOUNTS)[0]}'
    elif roll == 1:
        fields.pop(5)  # no amount
    elif roll == 2:
        fields[2] = f'"fee_ocur_time":"{rand_day(rnd, days)} 09:12:00"'
    elif roll == 3:
        fields[2] = rnd.choice(('"fee_ocur_time":"2026-02-30 09:12:00"', '"fee_ocur_time":"9:12"'))
    elif roll == 4:
        fields[0] = rnd.choice(('"feedetl_sn":"L0"', '"feedetl_sn":0', '"feedetl_sn":1.5'))
    elif roll == 5:
        fields[3] = rnd.choice(('"bilg_dr_codg":null', '"bilg_dr_codg":""'))
    elif roll == 6:
        fields.append(rnd.choice(UNUSUAL))
    else:
        fields.append(rnd.choice(EXTRAS)[1:])


def _normal(answer: bytes, did: str) -> bytes:
    answer = answer.replace(did.encode(), b"DID")
    return re.sub(rb'"(refmsg_time|respond_time)":"[^"]*"', rb'"\1":"T"', answer)


def _run(gk: GatekeeperApp, inst: str, body: bytes, fast: bool) -> tuple[Any, ...]:
    """What the message gets, without its decision id and times."""
    assert gk.rt is not None
    try:
        op, out, outcome, fee, _ = begin(gk, gk.rt, inst, body, fast=fast)
    except DomainError as err:
        return ("problem", err.status)
    if fee is None:
        return (op, _normal(out, ""), outcome, None)
    answer, outcome, item = claimed(fee, None)
    rec = fee.rec
    assert item is not None
    did = rec.decision_id
    logged = (*item[2:8], _normal(item[8], did), item[9])
    record = (rec.body_hash, rec.registry_version, rec.results)
    return (op, _normal(answer, did), outcome, logged, record, fee.memory, fee)


def _replayed(fee: FeeDecision, prior: Record) -> bytes:
    answer, outcome, item = claimed(fee, prior)
    assert outcome in ("replayed", "malformed") and item is None
    return answer


@pytest.mark.parametrize("seed", [21, 22, 23])
async def test_the_fast_path_answers_exactly_as_the_reference(gk: GatekeeperApp, seed: int) -> None:
    facts, codes, days = world(seed, n=300)
    gk.store.replace(facts)
    assert gk.rt is not None
    for inst in INSTITUTIONS:  # visit memory: M2 is an emergency visit everywhere
        gk.rt.visits.record(inst, "M2", True)
    rnd = random.Random(seed)
    taken = compared = several_days = 0
    habits = dict.fromkeys((b"\xef\xbb\xbf", b"\r\n", b'.0000"', b'"feedetl_sn":0', b"null"), 0)
    for k in range(400):
        body = message(rnd, facts, codes, days, k)
        inst = rnd.choice(INSTITUTIONS) if rnd.random() < 0.03 else body_inst(body)
        ref = _run(gk, inst, body, fast=False)  # first: fills the memo the fast path reads
        got = _run(gk, inst, body, fast=True)
        assert got[:6] == ref[:6], body
        compared += 1
        if len(got) == 7 and got[6].fast is not None:
            taken += 1
            several_days += len(set(re.findall(rb'"fee_ocur_time":"(.{10})', body))) > 1
            for habit in habits:
                habits[habit] += habit in body.replace(b" ", b"")
            fee_ref, fee_fast = ref[6], got[6]
            assert fee_ref.fast is None
            for prior in (fee_ref.rec, _other(fee_ref.rec)):
                assert _normal(_replayed(fee_fast, prior), prior.decision_id) == _normal(
                    _replayed(fee_ref, prior), prior.decision_id
                )
    assert compared == 400
    assert taken > 150, taken  # the fast path is the usual path, not a curiosity
    assert several_days > 50, several_days  # inpatient bills over several days too
    # client habits the fast path takes (a BOM, CRLF, F4 strings, integer ids, nulls)
    assert min(habits.values()) >= 5, habits


def body_inst(body: bytes) -> str:
    m = re.search(rb'"fixmedins_code":\s*"([^"]*)"', body)
    return m.group(1).decode() if m else "H1"


def _other(rec: Record) -> Record:
    """A record left by a different message with the same msgid."""
    return Record("0-0", rec.decision_id, rec.decided_ms, 1, "", "", rec.results)


def _on_days(good: bytes, n: int) -> bytes:
    """``good`` with n lines, each on a day of its own."""
    item = good[good.index(b'{"feedetl_sn"') : good.rindex(b"]}}")]
    days = [date(2024, 1, 1) + timedelta(days=k) for k in range(n)]
    items = [
        item.replace(b'"1"', f'"{k}"'.encode()).replace(b"2026-11-20", d.isoformat().encode())
        for k, d in enumerate(days)
    ]
    return good.replace(item, b",".join(items))


def test_the_scanner_declines_what_it_does_not_take() -> None:
    """Each of these is outside the fast subset (the reference decides them)."""
    good = (
        b'{"infno":"2204","msgid":"m","fixmedins_code":"H1","input":{"feedetail":['
        b'{"feedetl_sn":"1","bilg_dr_codg":"YB1","fee_ocur_time":"2026-11-20 09:12:00",'
        b'"det_item_fee_sumamt":1.5}]}}'
    )
    assert scan(good, 10) is not None
    assert scan(good, 0) is None  # more lines than allowed
    for habit in (  # what clients write, in the fast subset
        b"\xef\xbb\xbf" + good,
        good.replace(b",", b",\r\n  "),
        good.replace(b'"1"', b"1"),
        good.replace(b"1.5}", b'"1.5000"}'),
        good.replace(b"1.5}", b'1.500,"cnt":"1.0000","pric":null,"mdtrt_id":null}'),
        good.replace(b"1.5}", b'1.5,"exp_content":"","init_feedetl_sn":null,"chrg_bchno":""}'),
    ):
        assert scan(habit, 10) is not None, habit
    many = scan(_on_days(good, 128), 200)
    assert many is not None and many.n == 128 and len(many.days) == 128
    assert many.days[:2] == ("2024-01-01", "2024-01-02")
    for bad in (
        good.replace(b'"2204"', b'"5102"'),
        good.replace(b'"m"', b'"\\u006d"'),
        good.replace(b'"m"', b'"\xe4\xb8\xad"'),
        good.replace(b'"m"', b'""'),
        good.replace(b"1.5", b"1.50e0"),
        good.replace(b"1.5}", b'1.5,"fee_ocur_time":"2026-11-21 09:12:00"}'),
        _on_days(good, 129),
        good.replace(b"]}}", b"]}} x"),
        good.replace(b"]}}", b"]},}"),
        good[:-1],
        good.replace(b'"input":{', b'"input":{"data":{"prac_psn_code":"x"},'),
        b"[" + good + b"]",
        good.replace(b'"1"', b"-1"),
        good.replace(b'"1"', b"1.0"),
        good.replace(b'"1"', b"1234567890123456789"),
        good.replace(b"1.5}", b'"12.3450"}'),
        good.replace(b"1.5}", b"-1.5}"),
        good.replace(b"1.5}", b'1.5,"init_feedetl_sn":"0"}'),
        good.replace(b"1.5}", b'1.5,"exp_content":{}}'),
        good.replace(b"1.5}", b'1.5,"cnt":true}'),
        good.replace(b"1.5}", b'1.5,"pric":"1e2"}'),
        good.replace(b'"YB1"', b"null"),
        good.replace(b"1.5}", b'1.5,"mdtrt_id":"\xe9\x97\xa8"}'),
        good.replace(b"1.5}", b'1.5,"mdtrt_id":"a","mdtrt_id":"b"}'),
    ):
        assert scan(bad, 10) is None, bad


def test_the_scanner_checks_every_byte_of_a_string_at_every_offset() -> None:
    """Strings are checked 8 bytes at a time: a control character (never JSON) or, in a
    judged field, a non-ASCII byte is found wherever it sits."""
    head = b'{"infno":"2204","msgid":"m","fixmedins_code":"H1","input":{"feedetail":[{'
    tail = b'"feedetl_sn":"1","fee_ocur_time":"2026-11-20 09:12:00","det_item_fee_sumamt":1}]}}'

    def body(name: bytes, code: bytes = b"YB1") -> bytes:
        return head + b'"bilg_dr_name":"%b","bilg_dr_codg":"%b",' % (name, code) + tail

    for n in range(1, 20):
        assert scan(body(b"z" * n), 10) is not None
        for at in range(n):
            for byte, judged_only in ((0x1F, False), (0xE4, True)):
                odd = bytearray(b"z" * n)
                odd[at] = byte
                assert scan(body(b"z", bytes(odd)), 10) is None, (n, at, byte)
                # a skipped field may hold any byte but a control character
                assert (scan(body(bytes(odd)), 10) is not None) == judged_only, (n, at, byte)
