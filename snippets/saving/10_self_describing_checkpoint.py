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

# torch.__version__ is not a str but a str subclass; the default loader refuses that class.
version_object = type(torch.__version__).__name__
file = io.BytesIO()
torch.save({"torch": torch.__version__}, file)
file.seek(0)
refused = "nothing was refused"
try:
    torch.load(file)
except pickle.UnpicklingError as error:
    refused = next(line for line in str(error).splitlines() if "Unsupported global" in line).strip()
    refused = refused.split(" was not")[0]
    print(f"{type(error).__name__}: ... {refused} ...")

assert same_predictions and rebuilt.layers[2].out_features == 3
assert checkpoint["versions"]["torch"] == torch.__version__
assert version_object == "TorchVersion" and "TorchVersion" in refused
