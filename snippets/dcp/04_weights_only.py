"""What weights_only has to do with DCP: its tensors load safely, everything else is full pickle.

One process is enough to write and read a DCP folder; the format is the same as with 2 ranks.
"""

import dataclasses
import io
import os
import pickle
import tempfile
import unittest.mock
import warnings
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save, torch_save_to_dcp

warnings.filterwarnings("ignore", message="torch.distributed is disabled")  # shown in 02


@dataclasses.dataclass
class TrainConfig:
    lr: float = 0.01
    epochs: int = 3


class Payload:
    """Rebuilt by calling eval: runs `code`, then returns the real metadata. Nothing looks wrong."""

    def __init__(self, code: str, metadata) -> None:
        self.code, self.metadata = code, metadata

    def __reduce__(self):
        return (eval, (f"({self.code}, real)[1]", {"real": self.metadata}))


with tempfile.TemporaryDirectory() as tmp:
    folder = Path(tmp) / "ckpt"
    dcp.save({"weight": torch.arange(6.0), "config": TrainConfig()}, checkpoint_id=folder)

    # 1. The metadata file is a plain pickle, mostly of DCP's own classes.
    metadata = dcp.FileSystemReader(folder).read_metadata()
    saved_at = metadata.storage_meta.checkpoint_id  # the path the folder was saved to
    path_class = f"{type(saved_at).__module__}.{type(saved_at).__name__}"
    as_torch_save = io.BytesIO()
    torch.save(metadata, as_torch_save)
    as_torch_save.seek(0)
    refused_classes = torch.serialization.get_unsafe_globals_in_checkpoint(as_torch_save)
    as_torch_save.seek(0)
    try:
        torch.load(as_torch_save)  # weights_only=True, the default
        metadata_refused = "nothing was refused"
    except pickle.UnpicklingError as error:
        metadata_refused = str(error).split("GLOBAL ")[1].split(" was not")[0]
    refused_count = len(refused_classes)
    metadata_class = f"{type(metadata).__module__}.{type(metadata).__name__}"
    print(f"{refused_count} globals in the metadata that weights_only would refuse, e.g.")
    print("   ", metadata_class)
    print("    and", path_class, "(the path it was saved to)")
    print("torch.load of that torch.save file refuses", metadata_refused)

    # 2. A non-tensor value comes back from dcp.load without any allowlist. Watching torch.load
    # shows which loader reads what: (type of what it returned, the weights_only it was given).
    loaders, real_load = [], torch.load

    def spy(*args, **kwargs):  # only to watch the reader; not needed to load
        value = real_load(*args, **kwargs)
        loaders.append((type(value).__name__, kwargs.get("weights_only")))
        return value

    target = {"weight": torch.zeros(6), "config": None}
    with unittest.mock.patch("torch.load", spy):
        dcp.load(target, checkpoint_id=folder)
    print("dcp.load returned config =", target["config"])
    print("its torch.load calls, (what each returned, weights_only):", sorted(loaders))
    config_loaded = target["config"] == TrainConfig()

    # 3. Converted to torch.save, the same value needs an allowlist under the default loader.
    single_file = Path(tmp) / "ckpt.pt"
    dcp_to_torch_save(folder, single_file)
    unsafe_in_converted = ", ".join(
        torch.serialization.get_unsafe_globals_in_checkpoint(single_file)
    )
    try:
        torch.load(single_file)  # weights_only=True, the default since PyTorch 2.6
        refused = "nothing was refused"
    except pickle.UnpicklingError as error:
        refused = next(line for line in str(error).splitlines() if "Unsupported global" in line)
        refused = refused.strip().split(" was not")[0]
    print("torch.load of the converted file:", refused)
    with torch.serialization.safe_globals([TrainConfig]):
        allowed = torch.load(single_file)
    print("with safe_globals([TrainConfig]):", allowed["config"])

    # 4. The reverse conversion reads its input with weights_only=False: no allowlist there.
    back = Path(tmp) / "back"
    torch_save_to_dcp(single_file, back)
    reverse_accepted = (back / ".metadata").exists()
    print("torch_save_to_dcp converted it without an allowlist:", reverse_accepted)

    # 5. dcp.load unpickles .metadata with pickle.load: a tampered file runs code.
    marker = Path(tmp) / "written-during-dcp-load.txt"
    code = f"open({str(marker)!r}, 'w').write('any code could run here')"
    (folder / ".metadata").write_bytes(pickle.dumps(Payload(code, metadata)))
    tampered = {"weight": torch.zeros(6)}
    dcp.load(tampered, checkpoint_id=folder)
    code_ran = marker.exists()
    weights_fine = torch.equal(tampered["weight"], torch.arange(6.0))
    print("the tampered folder loaded its weights normally:", weights_fine)
    print("and the file written by its metadata exists:", code_ran)

    # 6. TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 makes each torch.load weights-only; pickle.load ignores it
    marker.unlink()
    with unittest.mock.patch.dict(os.environ, {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1"}):
        try:
            dcp.load({"weight": torch.zeros(6), "config": None}, checkpoint_id=folder)
            forced_load = "loaded"
        except CheckpointException as error:  # the config, refused on rank 0 (the only one)
            forced_load = str(error.failures[0][0]).split(" was not")[0].split("GLOBAL ")[-1]
        try:
            torch_save_to_dcp(single_file, Path(tmp) / "forced")
            forced_reverse = "converted"
        except pickle.UnpicklingError as error:
            forced_reverse = str(error).split(" was not")[0].split("GLOBAL ")[-1]
    code_ran_when_forced = marker.exists()
    print("with TORCH_FORCE_WEIGHTS_ONLY_LOAD=1, dcp.load refuses", forced_load)
    print("    torch_save_to_dcp refuses", forced_reverse)
    print("    and the metadata's code ran all the same:", code_ran_when_forced)

assert len(refused_classes) >= 3 and metadata_class in refused_classes
names_one = metadata_refused in refused_classes
assert names_one and metadata_refused.startswith("torch.distributed.")  # witness: metadata-refused
assert metadata_class == "torch.distributed.checkpoint.metadata.Metadata"
assert saved_at == folder and path_class in refused_classes  # witness: records-its-path
assert config_loaded  # witness: dcp-loads-objects
by_kind = sorted(loaders) == [("Tensor", True), ("TrainConfig", False)]
assert by_kind  # witness: loaders-by-kind
assert (
    "TrainConfig" in unsafe_in_converted and "TrainConfig" in refused
)  # witness: converted-refused
assert allowed["config"] == TrainConfig()  # witness: allowlist-loads
assert reverse_accepted  # witness: reverse-full-pickle
assert code_ran and weights_fine  # witness: metadata-runs-code
assert "TrainConfig" in forced_load and "TrainConfig" in forced_reverse  # witness: forced-refuses
assert code_ran_when_forced  # witness: forced-metadata-still-runs
