"""The C extension (``csrc/``) built with AddressSanitizer and UBSan (and, for the fuzzer,
gcc's edge coverage with ``csrc/fuzzcov.c``) into a directory of its own; the product's
build (``setup.py``) is untouched.

    python -m tests.fuzz.build DIR [--coverage]     (prints the built module's path)
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "csrc").glob("feefast_*.c"))
FLAGS = [
    "-shared",
    "-fPIC",
    "-O1",
    "-g",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
]


def preload() -> str:
    """LD_PRELOAD for a Python that loads the sanitized module (the runtimes first)."""
    libs = [
        subprocess.run(
            ["gcc", f"-print-file-name={name}"], check=True, capture_output=True, text=True
        ).stdout.strip()
        for name in ("libasan.so", "libubsan.so")
    ]
    return ":".join(libs)


def build(out: Path, coverage: bool = False) -> Path:
    include = sysconfig.get_paths()["include"]
    target = out / f"_feefast{sysconfig.get_config_var('EXT_SUFFIX')}"
    objects: list[str] = []
    cmd = ["gcc", *FLAGS, f"-I{include}"]
    if coverage:
        cov = out / "fuzzcov.o"
        subprocess.run(
            ["gcc", "-c", "-fPIC", "-O2", str(ROOT / "csrc" / "fuzzcov.c"), "-o", str(cov)],
            check=True,
        )
        cmd.append("-fsanitize-coverage=trace-pc")
        objects.append(str(cov))
    subprocess.run([*cmd, *map(str, SOURCES), *objects, "-o", str(target)], check=True)
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]), coverage="--coverage" in sys.argv))
