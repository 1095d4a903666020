"""The product as a subprocess and a real headless Chromium driven by Selenium.

No download at run time: Debian's ``chromium`` and ``chromium-driver`` (installed by
``scripts/testenv.sh``), the driver path given so Selenium Manager stays idle, and
axe-core vendored under ``assets/`` (test-only).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
AXE = Path(__file__).parent / "assets" / "axe.min.js"
CHROMIUM = os.environ.get("YBGATE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("YBGATE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
ADMIN_TOKEN = "yba_console_e2e_bootstrap_token_0001"
LOOPBACK = {"127.0.0.1", "localhost"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Product:
    """``ybgate migrate``, ``seed`` and ``serve all`` on a fresh SQLite file."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="ybgate-console-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "YBGATE_DATABASE_URL": f"sqlite+aiosqlite:///{self.dir.name}/ybgate.db",
            "YBGATE_DECISION_LOG_DIR": f"{self.dir.name}/decisions",
            "YBGATE_BOOTSTRAP_ADMIN_TOKEN": ADMIN_TOKEN,
            "YBGATE_REDIS_URL": "",
        }
        self.env.pop("YBGATE_REDIS_URL")
        self.proc: subprocess.Popen[bytes] | None = None

    def _cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self._cli("migrate")
        self._cli("seed", "--port", str(self.port))
        self.log = open(Path(self.dir.name) / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "all", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("the product did not start: " + self.server_log())

    def server_log(self) -> str:
        return (Path(self.dir.name) / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        self.dir.cleanup()

    def api(self, token: str = ADMIN_TOKEN) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


def new_driver() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="ybgate-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
        "--lang=zh-CN",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    return driver


class Page:
    """The browser, pointed at the product; each visit is checked and photographed."""

    def __init__(self, driver: webdriver.Chrome, base: str) -> None:
        self.driver = driver
        self.base = base
        self.hosts_seen: set[str] = set()

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self) -> str:
        return str(self.find("body").text)

    def fill(self, css: str, value: str) -> None:
        el = self.find(css)
        if el.get_attribute("type") == "date":
            # Date inputs take the value through script (typing depends on the locale).
            self.driver.execute_script(
                "arguments[0].value = arguments[1];"
                "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                el,
                value,
            )
            return
        el.clear()
        el.send_keys(value)

    def shot(self, name: str) -> Path:
        """A screenshot of the whole page (beyond the viewport) under var/screenshots/."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        size = self.driver.execute_script(
            "window.scrollTo(0, 0);"
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    # ---- checks every page passes ----

    def severe_logs(self) -> list[str]:
        logs: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [str(e["message"]) for e in logs if e.get("level") == "SEVERE"]

    def remote_requests(self) -> list[str]:
        """URLs of every request the browser made to a host other than the loopback."""
        out = []
        for entry in self.driver.get_log("performance"):  # type: ignore[no-untyped-call]
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.requestWillBeSent":
                continue
            url = str(msg["params"]["request"]["url"])
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about", "chrome"):
                continue
            self.hosts_seen.add(parts.hostname or "")
            if parts.hostname not in LOOPBACK:
                out.append(url)
        return out

    def unlabelled_controls(self) -> list[str]:
        script = """
        const out = [];
        for (const el of document.querySelectorAll('input, select, textarea')) {
          if (el.type === 'hidden' || el.closest('.hidden')) continue;
          const byFor = el.id && document.querySelector(`label[for="${el.id}"]`);
          const wrapped = el.closest('label');
          const aria = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
          if (!byFor && !wrapped && !aria) out.push(el.outerHTML.slice(0, 120));
        }
        return out;
        """
        return list(self.driver.execute_script(script))

    def axe_critical(self) -> list[str]:
        self.driver.execute_script(AXE.read_text())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => [v.id, v.impact, v.help, v.nodes.length])))"
            ".catch(e => done([['axe-error', 'critical', String(e), 0]]));"
        )
        return [f"{r[0]}: {r[2]} ({r[3]})" for r in result if r[1] == "critical"]
