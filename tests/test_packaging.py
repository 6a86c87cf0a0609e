"""The packaged app's fast checks: the PyInstaller spec, the build script, the frozen resource paths, the self-test's
exit status. Building the app itself takes many minutes: `python scripts/build_app.py` does, and checks the binary."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from cnndesk import locations

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "cnndesk.spec"
BUILD_SCRIPT = ROOT / "scripts" / "build_app.py"


class _Recorder:
    """Stands for one of PyInstaller's spec classes (Analysis, EXE, ...): keeps its arguments."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs
        # What Analysis would have found: resources plus files the spec must drop, as (bundle path, source, type).
        self.datas = [(str(Path(dest, Path(src).name)), src, "DATA") for src, dest in kwargs.get("datas", ())]
        self.datas += [("torch/include/ATen/ATen.h", "/x/ATen.h", "DATA"),
                       ("torch/share/cmake/Torch/TorchConfig.cmake", "/x/TorchConfig.cmake", "DATA")]
        self.binaries = [("torch/lib/libtorch_cpu.so", "/x/libtorch_cpu.so", "BINARY"),
                         ("torch/bin/protoc", "/x/protoc", "BINARY")]
        self.pure = self.scripts = []


def _run_spec(monkeypatch, platform: str = "linux") -> dict:
    """Execute the spec as PyInstaller would, with its classes recorded instead of building anything."""
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = lambda package: [f"{package}.cli"]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    made: dict = {}

    def recorder(kind: str):
        def make(*args, **kwargs):
            made[kind] = _Recorder(*args, **kwargs)
            return made[kind]
        return make

    namespace = {"SPECPATH": str(SPEC.parent), "__file__": str(SPEC),
                 **{kind: recorder(kind) for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    made["namespace"] = namespace
    return made


def test_the_spec_bundles_every_resource_where_the_frozen_app_looks(monkeypatch, tmp_path):
    made = _run_spec(monkeypatch)
    analysis = made["Analysis"]
    assert [Path(p) for p in analysis.args[0]] == [ROOT / "cnndesk" / "__main__.py"]
    bundled = {Path(dest) for dest, _, _ in analysis.datas}
    # Every file of resources/ (MNIST, weights, translations, icons, whatever is added later), no Python files.
    expected = {Path("cnndesk", "resources", *p.relative_to(ROOT / "resources").parts)
                for p in (ROOT / "resources").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc")}
    assert expected <= bundled
    assert Path("cnndesk/resources/mnist/t10k-images-idx3-ubyte.gz") in bundled
    assert Path("cnndesk/resources/lenet5.safetensors") in bundled
    # The frozen app finds them there: sys._MEIPASS is the bundle's root.
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert tmp_path / Path("cnndesk/resources/lenet5.safetensors") == locations.pretrained_path("lenet5")


def test_the_spec_drops_headers_and_tools_but_keeps_libraries(monkeypatch):
    made = _run_spec(monkeypatch)
    analysis = made["Analysis"]
    kept = {dest for dest, _, _ in [*analysis.datas, *analysis.binaries]}
    assert "torch/lib/libtorch_cpu.so" in kept
    assert not {"torch/include/ATen/ATen.h", "torch/bin/protoc", "torch/share/cmake/Torch/TorchConfig.cmake"} & kept
    assert "triton" in analysis.kwargs["excludes"]
    assert made["EXE"].kwargs["name"] == "cnndesk" and made["COLLECT"].kwargs["name"] == "cnndesk"
    assert "BUNDLE" not in made  # the .app is made on macOS only


@pytest.mark.parametrize(("platform", "suffix"), [("win32", ".ico"), ("darwin", ".icns")])
def test_windows_and_macos_builds_get_an_icon_that_exists(monkeypatch, platform, suffix):
    made = _run_spec(monkeypatch, platform)
    icon = Path(made["EXE"].kwargs["icon"])
    assert icon.suffix == suffix and icon.is_file()
    assert ("BUNDLE" in made) == (platform == "darwin")


def test_the_build_script_explains_itself():
    done = subprocess.run([sys.executable, str(BUILD_SCRIPT), "--help"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "--check-only" in done.stdout and "self-test" in done.stdout


def _build_script(monkeypatch):
    """scripts/build_app.py as a module (registered: its dataclasses look themselves up in sys.modules)."""
    spec = importlib.util.spec_from_file_location("build_app", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_app", module)
    spec.loader.exec_module(module)
    return module


def test_the_size_summary_counts_cuda_libraries_once(tmp_path, monkeypatch):
    build_app = _build_script(monkeypatch)
    app = tmp_path / "cnndesk" / "_internal"
    (app / "nvidia" / "cublas" / "lib").mkdir(parents=True)
    (app / "torch" / "lib").mkdir(parents=True)
    (app / "nvidia" / "cublas" / "lib" / "libcublas.so.13").write_bytes(b"c" * 1000)
    (app / "torch" / "lib" / "libtorch_cuda.so").write_bytes(b"c" * 500)
    (app / "torch" / "lib" / "libtorch_cpu.so").write_bytes(b"x" * 300)
    (app / "libtorch_cpu.so").symlink_to(app / "torch" / "lib" / "libtorch_cpu.so")  # not counted twice
    assert build_app.folder_size(tmp_path / "cnndesk") == (1800, 1500)


def test_frozen_resources_are_found_in_the_bundle(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_internal"), raising=False)
    assert locations.resource_dir() == tmp_path / "_internal" / "cnndesk" / "resources"
    weights = locations.pretrained_path("lenet5")
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")
    assert locations.is_pretrained(weights)  # never overwritten by Save, frozen or not
    # A freezer without _MEIPASS keeps its data beside the executable.
    monkeypatch.delattr(sys, "_MEIPASS")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "app" / "cnndesk"))
    assert locations.resource_dir() == (tmp_path / "app").resolve() / "cnndesk" / "resources"


def test_unfrozen_resources_are_the_repository_ones():
    assert not getattr(sys, "frozen", False)
    assert locations.pretrained_path("lenet5").resolve() == (ROOT / "resources" / "lenet5.safetensors").resolve()


@pytest.mark.parametrize("outcome", ["passes", "fails", "crashes"])
def test_the_self_test_exit_status_says_whether_it_passed(monkeypatch, capsys, outcome):
    """The build script trusts the binary's exit status: a failed check must not exit 0."""
    from cnndesk.ui import selftest

    def run_self_test(train_samples: int) -> dict:
        if outcome == "fails":
            raise selftest.SelfTestFailure("Loading PyTorch and the model failed: no module named torch.")
        if outcome == "crashes":
            raise AttributeError("'NoneType' object has no attribute 'probabilities'")
        return {"ok": True, "ready_s": 1.0}

    monkeypatch.setattr(selftest, "run_self_test", run_self_test)
    code = selftest.main(train_samples=16)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (code == 0) == (outcome == "passes") == report["ok"]
    if outcome != "passes":
        assert code == 1 and report["failure"]


def test_cnndesk_runs_itself_again_without_python_minus_m_when_packaged(monkeypatch):
    """bench and the language restart start cnndesk anew: the packaged executable takes the arguments itself (it
    has no ``-m``), an install runs ``python -m cnndesk``."""
    from cnndesk.locations import cnndesk_command

    assert cnndesk_command("eval", "--json") == [sys.executable, "-m", "cnndesk", "eval", "--json"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/cnndesk/cnndesk")
    assert cnndesk_command("eval", "--json") == ["/opt/cnndesk/cnndesk", "eval", "--json"]
