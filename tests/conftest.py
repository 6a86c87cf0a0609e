"""Shared test setup: headless Qt, and a throwaway user data folder for the whole session."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_data_dir = tempfile.mkdtemp(prefix="cnndesk-tests-")
os.environ["CNNDESK_DATA_DIR"] = _data_dir
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
