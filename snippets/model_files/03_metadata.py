"""A safetensors file that can rebuild its model: tensors for numbers, strings for the rest."""

import dataclasses
import json
import struct
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn


@dataclasses.dataclass
class MLPConfig:
    d_in: int
    d_hidden: int
    n_classes: int


class MLP(nn.Module):
    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(config.d_in, config.d_hidden),
            nn.ReLU(),
            nn.Linear(config.d_hidden, config.n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


MODELS = {"MLP": (MLP, MLPConfig)}  # the names a file may ask for, and nothing else

torch.manual_seed(0)
raw_train = torch.randn(100, 4) * 5 + 20  # raw features, far from zero mean and unit scale
mean, std = raw_train.mean(dim=0), raw_train.std(dim=0)
config = MLPConfig(d_in=4, d_hidden=16, n_classes=3)
model = MLP(config).eval()

tensors = {f"model.{key}": value for key, value in model.state_dict().items()}
tensors |= {"preprocessing.mean": mean, "preprocessing.std": std}  # exact, as tensors
metadata = {  # strings only: structured values are written as JSON text
    "format": "pt",  # read by Hugging Face loaders as the framework the tensors are for
    "guide_format": "1",  # the version of this layout, under a name of our own
    "model_class": type(model).__name__,
    "model_config": json.dumps(dataclasses.asdict(config)),
    "class_names": json.dumps(["cat", "dog", "bird"]),
    "torch_version": str(torch.__version__),
}


def load_model(path: Path) -> tuple[nn.Module, dict, list[str]]:
    with safe_open(path, framework="pt") as file:
        header = file.metadata()  # read from the header, before any tensor
        model_class, config_class = MODELS[header["model_class"]]
        model = model_class(config_class(**json.loads(header["model_config"])))
        parts = {"model": {}, "preprocessing": {}}
        names = file.keys()  # a list of the tensors' names
        for key in names:
            part, name = key.split(".", 1)
            parts[part][name] = file.get_tensor(key)
    model.load_state_dict(parts["model"])
    return model.eval(), parts["preprocessing"], json.loads(header["class_names"])


with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "mlp.safetensors"
    save_file(tensors, path, metadata=metadata)
    with safe_open(path, framework="pt") as file:
        header = file.metadata()
    rebuilt, prep, class_names = load_model(path)
    raw = path.read_bytes()  # the JSON header by hand, as in the previous example
    raw_header = json.loads(raw[8 : 8 + struct.unpack("<Q", raw[:8])[0]])

    try:  # a value that is not a string is refused
        save_file(tensors, Path(folder) / "bad.safetensors", metadata={"guide_format": 1})
        number_refused = "saved"
    except TypeError as error:
        number_refused = str(error)

print("metadata:", {key: header[key] for key in sorted(header) if key != "torch_version"})
raw_batch = torch.randn(5, 4) * 5 + 20
with torch.no_grad():
    expected = model((raw_batch - mean) / std)
    predicted = rebuilt((raw_batch - prep["mean"]) / prep["std"])
same_predictions = torch.equal(expected, predicted)
labels = [class_names[i] for i in predicted.argmax(dim=1)]
print("predictions:", labels, "- same as the original model:", same_predictions)
print("metadata={'guide_format': 1}:", number_refused)
header_types = sorted({type(value).__name__ for value in header.values()})
print("the JSON header's entries besides the tensors:", sorted(set(raw_header) - set(tensors)))

assert header == metadata and header_types == ["str"]  # witness: metadata-strings
assert same_predictions  # witness: rebuilt-same
assert (  # witness: metadata-in-header
    raw_header["__metadata__"] == metadata and set(raw_header) == set(tensors) | {"__metadata__"}
)
assert rebuilt.layers[2].out_features == 3 and class_names[0] == "cat"
assert "metadata" in number_refused  # witness: number-refused
