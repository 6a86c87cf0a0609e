#!/usr/bin/env python
"""Keep the window's Simplified Chinese translation up to date: one command instead of three Qt tools.

    python scripts/translations.py            # update the .ts from the sources, list what is unfinished, compile .qm
    python scripts/translations.py --check    # change nothing; exit 1 if a text lacks a translation or .qm is stale
    python scripts/translations.py --font     # rebuild the bundled CJK font subset from the translations' characters

The update runs ``pyside6-lupdate`` over cnndesk/ui, cnndesk/ui/panels and cnndesk/session into
``resources/translations/cnndesk_zh_CN.ts``: translations already made are kept, texts that left the code are
dropped (``-no-obsolete``), new ones come in "unfinished" and are listed. Translate them (Qt Linguist, or a script
that edits the XML), run it again, and commit both the ``.ts`` and the compiled ``.qm``.

``--font`` needs fontTools (``pip install fonttools``, a build-time tool only) and Noto Sans CJK: it takes
NotoSansCJK-Regular.ttc from ``--noto`` or from Debian's ``fonts-noto-cjk`` package (``apt-get download``), keeps the
Simplified Chinese face, and subsets it to the characters of the translations plus ASCII and common punctuation.
tests/ui/test_translation_zh.py imports this file: the same source list, the same checks.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = "zh_CN"
TS_FILE = ROOT / "resources" / "translations" / f"cnndesk_{LANGUAGE}.ts"
QM_FILE = TS_FILE.with_suffix(".qm")
SOURCE_FOLDERS = ("cnndesk/ui", "cnndesk/ui/panels", "cnndesk/session")
FONT_FILE = ROOT / "resources" / "fonts" / "NotoSansSC-cnndesk.otf"
FONT_FAMILY = "Noto Sans SC cnndesk"  # a subset is a modified font: its own name, not the original's
NOTO_COLLECTION = "NotoSansCJK-Regular.ttc"
NOTO_FACE = "Noto Sans CJK SC"
# Always in the font, whatever the translations use today: ASCII and the punctuation Chinese text is written with.
BASE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "，。、：；？！（）【】《》「」“”‘’…—·～×±≈→←Σ"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Run the Qt tools that PySide6 ships through its own launcher: found in any environment that has PySide6.
TOOL = "import sys; from PySide6.scripts.pyside_tool import {0}; sys.exit({0}())"


def sources() -> list[Path]:
    """The Python files whose tr() texts make up the catalogue."""
    return sorted(path for folder in SOURCE_FOLDERS for path in (ROOT / folder).glob("*.py"))


def run_tool(name: str, *args: str) -> str:
    """Run pyside6-<name> with ``args``; its output, or SystemExit with it where the tool fails."""
    done = subprocess.run([sys.executable, "-c", TOOL.format(name), *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"pyside6-{name} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def lupdate(ts_file: Path) -> str:
    """Bring ``ts_file`` (made if missing) up to date with the sources: kept translations, no obsolete ones.
    No source locations: they would change the file at every edit of any source file."""
    return run_tool("lupdate", *map(str, sources()), "-no-obsolete", "-locations", "none",
                    "-source-language", "en", "-target-language", LANGUAGE, "-ts", str(ts_file))


def lrelease(ts_file: Path, qm_file: Path) -> str:
    return run_tool("lrelease", "-nounfinished", "-removeidentical", str(ts_file), "-qm", str(qm_file))


@dataclass(frozen=True)
class Message:
    context: str
    source: str
    translation: str  # "" when unfinished
    finished: bool


def read_messages(ts_file: Path) -> list[Message]:
    messages = []
    for context in ET.parse(ts_file).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            text = (translation.text or "") if translation is not None else ""
            kind = translation.get("type", "") if translation is not None else "unfinished"
            messages.append(Message(name, message.findtext("source") or "", text,
                                    bool(text) and kind not in ("unfinished", "obsolete", "vanished")))
    return messages


def problems(messages: list[Message]) -> list[str]:
    """One line per text the window would show in English, or with a broken ``{placeholder}``."""
    found = []
    for message in messages:
        where = f"[{message.context or '<session>'}] {message.source!r}"
        if not message.finished:
            found.append(f"unfinished: {where}")
        elif sorted(PLACEHOLDER.findall(message.source)) != sorted(PLACEHOLDER.findall(message.translation)):
            found.append(f"placeholders differ: {where} → {message.translation!r}")
    return found


def translated_characters(messages: list[Message]) -> set[str]:
    """Every character the translations show (what the bundled font must cover)."""
    return {char for message in messages if message.finished for char in message.translation if char.isprintable()}


def missing_glyphs(messages: list[Message], font_file: Path = FONT_FILE) -> list[str]:
    """The translations' characters the bundled font subset does not draw (run with --font to add them)."""
    from PySide6.QtGui import QGuiApplication, QRawFont

    _app = QGuiApplication.instance() or QGuiApplication(["translations", "-platform", "offscreen"])
    font = QRawFont(str(font_file), 12)
    return sorted(char for char in translated_characters(messages) if not font.supportsCharacter(ord(char)))


def qm_is_current(ts_file: Path = TS_FILE, qm_file: Path = QM_FILE) -> bool:
    """Whether ``qm_file`` is what compiling ``ts_file`` gives now (lrelease's output is deterministic)."""
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "fresh.qm"
        lrelease(ts_file, fresh)
        return qm_file.exists() and fresh.read_bytes() == qm_file.read_bytes()


# -- the font -------------------------------------------------------------------------------------------------
def noto_collection(folder: Path) -> Path:
    """NotoSansCJK-Regular.ttc from Debian's fonts-noto-cjk package, downloaded and unpacked into ``folder``."""
    subprocess.run(["apt-get", "download", "fonts-noto-cjk"], cwd=folder, check=True)
    package = next(folder.glob("fonts-noto-cjk_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(package), str(folder / "root")], check=True)
    return next((folder / "root").rglob(NOTO_COLLECTION))


def build_font(collection: Path, characters: set[str], out: Path = FONT_FILE) -> None:
    """The Simplified Chinese face of ``collection``, cut down to ``characters`` and renamed."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    fonts = TTCollection(str(collection)).fonts
    face = next(font for font in fonts if font["name"].getDebugName(1) == NOTO_FACE)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]  # the copyright and licence records too (OFL: they travel with the font)
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(char) for char in characters))
    subsetter.subset(face)
    names = face["name"]
    for record in list(names.names):
        if record.nameID in (1, 3, 4, 16):
            names.setName(FONT_FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName(FONT_FAMILY.replace(" ", "") + "-Regular", 6, record.platformID, record.platEncID,
                          record.langID)
    if "CFF " in face:  # the PostScript name inside the CFF table, as in the name table
        face["CFF "].cff.fontNames = [FONT_FAMILY.replace(" ", "") + "-Regular"]
    out.parent.mkdir(parents=True, exist_ok=True)
    face.save(str(out))


def make_font(noto: Path | None) -> None:
    characters = translated_characters(read_messages(TS_FILE)) | set(BASE_CHARACTERS)
    with tempfile.TemporaryDirectory() as folder:
        collection = noto or noto_collection(Path(folder))
        build_font(collection, characters)
    print(f"{FONT_FILE.relative_to(ROOT)}: {len(characters)} characters, {FONT_FILE.stat().st_size:,} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a text lacks a translation or the .qm is out of date")
    parser.add_argument("--font", action="store_true", help="rebuild the bundled CJK font subset")
    parser.add_argument("--noto", type=Path, help=f"{NOTO_COLLECTION} to take the font from (default: download)")
    args = parser.parse_args(argv)
    if args.font:
        make_font(args.noto)
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / TS_FILE.name
            copy.write_bytes(TS_FILE.read_bytes()) if TS_FILE.exists() else None
            lupdate(copy)
            found = problems(read_messages(copy))
            stale = TS_FILE.exists() and copy.read_bytes() != TS_FILE.read_bytes()
        if stale:
            found.append(f"{TS_FILE.name} is not up to date with the sources: run scripts/translations.py")
        if not qm_is_current():
            found.append(f"{QM_FILE.name} is not compiled from {TS_FILE.name}: run scripts/translations.py")
        if missing := missing_glyphs(read_messages(TS_FILE)):
            found.append(f"{FONT_FILE.name} lacks {''.join(missing)}: run scripts/translations.py --font")
        print("\n".join(found) or "every text is translated")
        return 1 if found else 0
    print(lupdate(TS_FILE).strip())
    messages = read_messages(TS_FILE)
    found = problems(messages)
    print("\n".join(found))
    print(lrelease(TS_FILE, QM_FILE).strip())
    print(f"{len(messages) - len(found)} of {len(messages)} texts translated")
    if missing := missing_glyphs(messages):
        print(f"{FONT_FILE.name} lacks {''.join(missing)}: run scripts/translations.py --font")
        return 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
