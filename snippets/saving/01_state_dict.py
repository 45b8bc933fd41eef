"""What a state_dict holds, and a round trip through a file: save, load into a new model."""

import tempfile
import zipfile
from pathlib import Path

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Classifier(nn.Module):
    def __init__(self, d_in: int = 4, d_hidden: int = 8, n_classes: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU())
        self.head = nn.Linear(d_hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


torch.manual_seed(0)
model = Classifier().to(device)
X = torch.randn(16, 4).to(device)
model(X)  # one forward pass in training mode updates BatchNorm's running statistics

state = model.state_dict()
for key, tensor in state.items():
    print(f"{key:26} {str(tuple(tensor.shape)):6} {tensor.dtype}")

state_entries = len(state)
parameter_tensors = len(list(model.parameters()))
buffer_tensors = len(list(model.buffers()))
print(f"{state_entries} entries = {parameter_tensors} parameters + {buffer_tensors} buffers")

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "classifier.pt"
    torch.save(model.state_dict(), path)
    is_zip = zipfile.is_zipfile(path)
    names = zipfile.ZipFile(path).namelist()
    pickle_name = next(name for name in names if name.endswith(".pkl"))
    tensor_records = sum("/data/" in name for name in names)
    print(f"the file is a zip archive: {is_zip}, with {tensor_records} tensor records beside")
    print(f"{pickle_name}, the pickle that describes the dictionary")

    restored = Classifier().to(device)  # fresh random weights, fresh running statistics
    result = restored.load_state_dict(torch.load(path, map_location=device))
result_text = str(result)
print("load_state_dict returned:", result_text)

model.eval()
restored.eval()
with torch.no_grad():
    same_outputs = torch.equal(model(X), restored(X))
print("restored model gives the same outputs in eval mode:", same_outputs)

assert list(state)[:2] == ["body.0.weight", "body.0.bias"]
assert "body.1.running_mean" in state and state["body.1.num_batches_tracked"].item() == 1
assert (state_entries, parameter_tensors, buffer_tensors) == (9, 6, 3)
assert is_zip and tensor_records == 9 and pickle_name == "classifier/data.pkl"
assert result.missing_keys == [] and result.unexpected_keys == []
assert same_outputs
