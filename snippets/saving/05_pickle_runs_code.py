"""Unpickling calls functions named in the file: a "checkpoint" that writes a file when loaded."""

import io
import pickle
import tempfile
from pathlib import Path

import torch


class Payload:
    """Pickle asks an object how to rebuild it; this one answers "call eval on this string"."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


with tempfile.TemporaryDirectory() as folder:
    marker = Path(folder) / "written-during-load.txt"
    code = f"open({str(marker)!r}, 'w').write('any code could run here')"
    checkpoint = io.BytesIO()
    torch.save({"weight": torch.ones(2), "note": Payload(code)}, checkpoint)

    # Listing the globals reads the pickle without running it: functions are listed too.
    checkpoint.seek(0)
    listed = torch.serialization.get_unsafe_globals_in_checkpoint(checkpoint)
    written_by_listing = marker.exists()
    print("globals not allowed:", listed, "| file written by listing them:", written_by_listing)

    checkpoint.seek(0)
    refused = "nothing was refused"
    try:
        torch.load(checkpoint)  # weights_only=True: the call to eval is refused before it happens
    except pickle.UnpicklingError as error:
        refused = next(
            line for line in str(error).splitlines() if "Unsupported global" in line
        ).strip()
        refused = refused.split(" was not")[0]
        print(f"{type(error).__name__}: ... {refused} ...")
    written_by_safe_load = marker.exists()
    print("file written by the weights_only load:", written_by_safe_load)

    checkpoint.seek(0)
    loaded = torch.load(checkpoint, weights_only=False)  # the old default: full pickle
    written_by_full_load = marker.exists()
    print("file written by the weights_only=False load:", written_by_full_load)
    print("what the loader returned for 'note':", loaded["note"])

assert listed == ["builtins.eval"]  # witness: lists-functions
assert not written_by_listing  # witness: listing-runs-nothing
assert "Unsupported global" in refused and "eval" in refused  # witness: safe-load-refuses-eval
assert not written_by_safe_load  # witness: safe-load-runs-nothing
assert written_by_full_load  # witness: full-load-runs-code
assert loaded["note"] == len("any code could run here")
