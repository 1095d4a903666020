"""Raw HTTP/1.1 over a socket for the hostile-input probes: nothing between the test and
the server's parser, so a test can send what no client library would (header floods,
repeated keys, upgrade offers, pipelined requests it never reads)."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

INST = "H33010200001"
CODE = "YB330102198000000000000000010"


def today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def days_ahead(n: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=n)).isoformat()


def request(
    path: str, body: bytes, token: str | None, extra: bytes = b"", method: str = "POST"
) -> bytes:
    auth = b"Authorization: Bearer %b\r\n" % token.encode() if token else b""
    return (
        b"%b %b HTTP/1.1\r\nHost: x\r\n%bContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n%b\r\n%b"
        % (method.encode(), path.encode(), auth, len(body), extra, body)
    )


def talk(port: int, data: bytes, wait: float = 5.0) -> tuple[bytes, bool]:
    """Send ``data``; what came back within ``wait`` s, and whether the server closed."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        try:
            if data:
                s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_until_closed(s, wait)


def read_until_closed(s: socket.socket, wait: float) -> tuple[bytes, bool]:
    s.settimeout(0.2)
    buf, deadline = b"", time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return buf, True
        if not chunk:
            return buf, True
        buf += chunk
    return buf, False


def status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


def body_of(raw: bytes) -> Any:
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


class Conn:
    """One keep-alive connection: send requests, read whole responses in order."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(15)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        line = self.file.readline()
        assert line.startswith(b"HTTP/1.1 "), line
        headers: dict[bytes, bytes] = {}
        while True:
            h = self.file.readline()
            if h in (b"\r\n", b""):
                break
            k, _, v = h.partition(b":")
            headers[k.strip().lower()] = v.strip()
        body = self.file.read(int(headers.get(b"content-length", b"0")))
        return int(line.split()[1]), headers, body

    def ask(self, data: bytes) -> tuple[int, Any]:
        self.send(data)
        code, _, body = self.response()
        return code, json.loads(body) if body else None

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def fee(sn: str, day: str | None = None, amount: str = "12.50", code: str = CODE) -> str:
    return (
        f'{{"feedetl_sn":"{sn}","mdtrt_id":"M1","psn_no":"P1",'
        f'"fee_ocur_time":"{day or today()} 09:12:00","med_list_codg":"250101001",'
        f'"det_item_fee_sumamt":{amount},"cnt":1,"bilg_dr_codg":"{code}","bilg_dr_name":"张三"}}'
    )


def fees(n: int, prefix: str = "", **kw: str) -> str:
    return ",".join(fee(f"{prefix}{k}", **kw) for k in range(n))


def hsa(msgid: str, input_json: str, infno: str = "2204") -> bytes:
    """A 2204/2301 message whose ``input`` is ``input_json`` as written (repeated keys
    and all)."""
    return (
        f'{{"infno":"{infno}","msgid":"{msgid}","fixmedins_code":"{INST}",'
        f'"fixmedins_name":"某医院","med_type":"11","input":{input_json}}}'
    ).encode()


def plain(sid: str, *lines: tuple[str, str, str]) -> bytes:
    """A plain settlement: (line_id, physician_code, service_date) per line."""
    return json.dumps(
        {
            "settlement_id": sid,
            "institution_code": INST,
            "lines": [
                {"line_id": i, "physician_code": c, "service_date": d, "amount": "1.00"}
                for i, c, d in lines
            ],
        }
    ).encode()


def rss_mb(pid: int) -> float:
    """Memory of ``pid`` and its children (a pre-forked gatekeeper's workers), in MB: the
    proportional set size, so that pages the workers share copy-on-write count once."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except FileNotFoundError:
            continue
        total += int(text.split("\nPss:")[1].split()[0]) / 1024
    return total


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(x) for x in text.split()]


def holds(pid: int, port: int, peer_port: int) -> bool:
    """Whether ``pid`` (or a child of it) has a socket of ``port`` connected to
    ``peer_port`` (from /proc: a socket the process closed no longer counts, whatever
    the kernel still keeps of it)."""
    inodes: set[str] = set()
    for p in [pid, *children(pid)]:
        fd_dir = Path(f"/proc/{p}/fd")
        try:
            names = list(fd_dir.iterdir())
        except FileNotFoundError:
            continue
        for fd in names:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            cols = row.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if (
                inode in inodes
                and int(local.rsplit(":", 1)[1], 16) == port
                and int(remote.rsplit(":", 1)[1], 16) == peer_port
            ):
                return True
    return False
