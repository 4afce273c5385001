"""Import shim: lets other tools import tools/count-events.py (a hyphenated file name) as a module,
plus decoded_prefix(), the decoded bytes of a possibly truncated compressed file."""
import importlib.util
import os

_spec = importlib.util.spec_from_file_location("count_events", os.path.join(os.path.dirname(os.path.abspath(__file__)), "count-events.py"))
_m = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_m)
globals().update({k: v for k, v in vars(_m).items() if not k.startswith("__")})


def decoded_prefix(f, codec):
    """Every decoded chunk of f; a truncated tail ends the iteration quietly."""
    try:
        yield from _m.DECODERS[codec](f)
    except _m.Truncated:
        return
