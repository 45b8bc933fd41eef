"""A checkpoint that carries what is needed to rebuild and use the model, in plain data only."""

import dataclasses
import io
import pickle
import platform

import torch
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


MODELS = {"MLP": (MLP, MLPConfig)}  # the names a checkpoint may ask for, and nothing else

torch.manual_seed(0)
raw_train = torch.randn(100, 4) * 5 + 20  # raw features, far from zero mean and unit scale
mean, std = raw_train.mean(dim=0), raw_train.std(dim=0)
config = MLPConfig(d_in=4, d_hidden=16, n_classes=3)
model = MLP(config)


def save_checkpoint(file, model: nn.Module, config: MLPConfig) -> None:
    torch.save(
        {
            "format": 1,  # bump when the layout of this dictionary changes
            "model_class": type(model).__name__,
            "model_config": dataclasses.asdict(config),  # a dict of ints, not the dataclass
            "state_dict": model.state_dict(),
            "preprocessing": {"mean": mean, "std": std},
            "class_names": ["cat", "dog", "bird"],
            "versions": {"torch": str(torch.__version__), "python": platform.python_version()},
        },
        file,
    )


def load_model(file) -> tuple[nn.Module, dict]:
    checkpoint = torch.load(file, map_location="cpu")  # weights_only=True: plain data loads as is
    model_class, config_class = MODELS[checkpoint["model_class"]]
    model = model_class(config_class(**checkpoint["model_config"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint


file = io.BytesIO()
save_checkpoint(file, model, config)
file.seek(0)
rebuilt, checkpoint = load_model(file)

raw_batch = torch.randn(5, 4) * 5 + 20
prep = checkpoint["preprocessing"]
with torch.no_grad():
    expected = model.eval()((raw_batch - mean) / std)
    predicted = rebuilt((raw_batch - prep["mean"]) / prep["std"])
same_predictions = torch.equal(expected, predicted)
labels = [checkpoint["class_names"][i] for i in predicted.argmax(dim=1)]
print("rebuilt:", checkpoint["model_class"], checkpoint["model_config"])
print(
    "saved with torch",
    checkpoint["versions"]["torch"],
    "and Python",
    checkpoint["versions"]["python"],
)
print("predictions:", labels, "- same as the original model:", same_predictions)


def refusal(obj) -> str:
    """Save obj, load it with the defaults, return the key line of the refusal (or "loaded")."""
    file = io.BytesIO()
    torch.save(obj, file)
    file.seek(0)
    try:
        torch.load(file)
    except pickle.UnpicklingError as error:
        line = next(line for line in str(error).splitlines() if "Unsupported global" in line)
        return line.strip().split(" was not")[0]
    return "loaded"


# The dataclass itself would be refused; its asdict() is a plain dict.
config_refused = refusal({"model_config": config})
print(f"UnpicklingError: ... {config_refused} ...")

# torch.__version__ is not a str but a str subclass; the default loader refuses that class.
version_object = type(torch.__version__).__name__
refused = refusal({"torch": torch.__version__})
print(f"UnpicklingError: ... {refused} ...")

# A file can only name a model that is in the table.
forged = io.BytesIO()
torch.save({**checkpoint, "model_class": "SomethingElse"}, forged)
forged.seek(0)
try:
    load_model(forged)
    forged_result = "loaded"
except KeyError as error:
    forged_result = f"{type(error).__name__}: {error}"
print("a checkpoint naming a class outside the table:", forged_result)

assert same_predictions and rebuilt.layers[2].out_features == 3  # witness: rebuilt-same
assert checkpoint["versions"]["torch"] == torch.__version__
assert "MLPConfig" in config_refused  # witness: dataclass-refused
assert version_object == "TorchVersion" and "TorchVersion" in refused  # witness: version-refused
assert forged_result == "KeyError: 'SomethingElse'"  # witness: table-only
