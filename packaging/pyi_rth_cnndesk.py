"""PyInstaller runtime hook of the packaged app (packaging/cnndesk.spec): runs before cnndesk starts.

The bundle leaves out triton (torch.compile's GPU kernel compiler, ~900 MB, never used by cnndesk). A CUDA build of
PyTorch then logs "triton not found; flop counting will not work for triton kernels" whenever torch.onnx loads
torch.utils.flop_counter (cnndesk export, File → Export): true, irrelevant to cnndesk, and alarming on stderr. This
drops that one message; the logger's other messages stay.
"""

import logging


def _not_about_missing_triton(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("triton not found")


logging.getLogger("torch.utils.flop_counter").addFilter(_not_about_missing_triton)
