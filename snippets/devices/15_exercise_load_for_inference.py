"""Exercise: load a checkpoint onto whatever device this machine offers, ready to predict."""

import tempfile
from pathlib import Path

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))


def load_for_inference(path: Path, device: torch.device) -> nn.Module:
    # map_location: the tensors go straight to device, whichever device wrote the file.
    state = torch.load(path, map_location=device, weights_only=True)
    model = make_model().to(device)
    model.load_state_dict(state)
    return model.eval()  # ready to predict: dropout off


torch.manual_seed(0)
trained = make_model()
X = torch.randn(3, 4)
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.pt"
    torch.save(trained.state_dict(), path)
    model = load_for_inference(path, device)
    # map_location="cpu" would do as well: load_state_dict copies into the model on `device`.
    via_cpu = make_model().to(device)
    first_weight, its_memory = via_cpu[0].weight, via_cpu[0].weight.data_ptr()
    via_cpu.load_state_dict(torch.load(path, map_location="cpu"))
    copied_in = via_cpu[0].weight is first_weight and first_weight.data_ptr() == its_memory

with torch.inference_mode():
    expected = trained.eval()(X)
    predicted = model(X.to(device)).cpu()
# The models may have run on different devices, which round differently (more so if TF32 is on).
matches = torch.allclose(predicted, expected, rtol=1e-3, atol=1e-3)
ones = torch.ones(1000, device=device)
dropout_off = not model[2].training and torch.equal(model[2](ones), ones)  # eval() reached it
print("parameters on:", next(model.parameters()).device, "| eval mode:", not model.training)
print("the Dropout passes its input through unchanged:", dropout_off)
print("predictions match the trained model:", matches)

assert next(model.parameters()).device.type == device.type
assert not model.training and dropout_off  # witness: eval-mode
assert copied_in and next(via_cpu.parameters()).device.type == device.type  # witness: cpu-would-do
assert matches  # witness: predictions-match
