"""Start the desktop app: the window shows at once and completes itself once PyTorch has loaded."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from cnndesk import __version__
from cnndesk.errors import CnndeskError
from cnndesk.locations import resource_path

from .i18n import install_translations

_translated: set[int] = set()  # the applications (by id) whose translations are installed


def make_application() -> QApplication:
    """The application, with cnndesk's translation for the user's locale installed (if one is bundled)."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("cnndesk")
    app.setApplicationVersion(__version__)
    if app.windowIcon().isNull():  # the title bar's and the task bar's icon
        app.setWindowIcon(QIcon(str(resource_path("cnndesk.png"))))
    if id(app) not in _translated:  # once: before any window, so that every text is built translated
        _translated.add(id(app))
        install_translations(app)
    return app


def require_display() -> None:
    """On Linux without a display Qt aborts the process with a page about plugins: say what is wrong instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise CnndeskError("There is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): "
                           "run cnndesk in a graphical session, or use its command line (cnndesk --help).")


# The Debian/Ubuntu package of each library Qt's X11 platform plugin (libqxcb.so) loads from the system
# (`ldd libqxcb.so`, Debian 12); the README's apt-get line holds them all (a test checks it).
XCB_PACKAGES = {
    "libGL.so.1": "libgl1", "libGLX.so.0": "libglx0", "libGLdispatch.so.0": "libglvnd0", "libEGL.so.1": "libegl1",
    "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1", "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11.so.6": "libx11-6", "libX11-xcb.so.1": "libx11-xcb1", "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0", "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
}


def xcb_plugin_path() -> Path:
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries ``plugin`` needs that the system lacks; [] if it loads. Loading it is what Qt does
    next anyway; only when that fails does ldd list every missing library (the loader names the first only)."""
    import ctypes
    import re
    import subprocess

    try:
        ctypes.CDLL(str(plugin))
        return []
    except OSError as exc:
        error = str(exc)
    first = re.findall(r"([\w.+-]+\.so[\w.]*): cannot open shared object file", error)
    try:
        listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        listing = ""
    found = re.findall(r"^\s*(\S+) => not found", listing, flags=re.MULTILINE)
    return list(dict.fromkeys(found or first)) or [f"something {plugin.name} needs ({error})"]


def require_platform_libraries(plugin: Path | None = None) -> None:
    """On Linux with X11, Qt aborts with a page that names the wrong library when one its xcb plugin needs is
    missing: name the missing ones and the apt-get line instead."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return
    if not platform and os.environ.get("WAYLAND_DISPLAY"):  # Qt takes its Wayland plugin first
        return
    plugin = plugin or xcb_plugin_path()
    if not plugin.exists():
        return
    missing = missing_libraries(plugin)
    if missing:
        packages = sorted({XCB_PACKAGES[name] for name in missing if name in XCB_PACKAGES})
        remedy = (f"install them (Debian/Ubuntu): sudo apt-get install {' '.join(packages)}" if packages else
                  "install the package that provides it")
        raise CnndeskError(f"The window cannot open: Qt's X11 plugin needs {', '.join(missing)}, which this system "
                           f"lacks; {remedy}.")


def run_app(checkpoint: str | Path | None = None) -> int:
    require_display()
    require_platform_libraries()
    app = make_application()
    from .main_window import MainWindow

    window = MainWindow(checkpoint=checkpoint, load_engine=False)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    window.start_loading()
    return app.exec()
