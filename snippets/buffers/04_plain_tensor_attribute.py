"""A constant kept as a plain attribute, a non-persistent buffer, or a persistent buffer."""

import copy
import io

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class FixedHiddenMLP(nn.Module):
    """After D2L's example: a random matrix that is used in forward but never trained."""

    def __init__(self, keep: str) -> None:
        super().__init__()
        constant = torch.rand(8, 8)
        if keep == "plain attribute":
            self.constant = constant
        else:
            self.register_buffer("constant", constant, persistent=(keep == "persistent buffer"))
        self.linear = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.linear(x) @ self.constant + 1)
        return self.linear(hidden).sum(dim=1)


def round_trip(keep: str, new_seed: int = 1) -> tuple[bool, bool, bool]:
    """Save one model's state_dict, load it into a fresh model: same outputs? same constant?
    And is the restored constant the first draw of the new seed's stream?"""
    torch.manual_seed(0)
    trained = FixedHiddenMLP(keep)
    buffer = io.BytesIO()
    torch.save(trained.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(new_seed)  # a new process may draw a different constant
    restored = FixedHiddenMLP(keep)
    restored.load_state_dict(torch.load(buffer))
    x = torch.rand(2, 8)
    same_outputs = torch.equal(trained(x), restored(x))  # same weights and constant: same bits
    new_stream_draw = torch.rand(8, 8, generator=torch.Generator().manual_seed(new_seed))
    redrawn = torch.equal(restored.constant, new_stream_draw)
    return same_outputs, torch.equal(trained.constant, restored.constant), redrawn


def follows_to(keep: str) -> tuple[bool, bool, str]:
    """Convert the model with .to(torch.float64): what follows, and does forward run?"""
    model = FixedHiddenMLP(keep).to(torch.float64)
    converted = (model.constant.dtype == torch.float64, model.linear.weight.dtype == torch.float64)
    try:
        model(torch.rand(2, 8, dtype=torch.float64))
    except RuntimeError as error:
        return *converted, f"{type(error).__name__}: {error}"
    return *converted, "runs"


# A process that happens to draw the same numbers rebuilds the same constant.
same_draw_same_constant = round_trip("non-persistent buffer", new_seed=0)[:2]
# The same seed, but another layer built first: the constant comes from further along the stream.
torch.manual_seed(0)
nn.Linear(8, 8)  # its initialization takes the first numbers of the stream
built_later = FixedHiddenMLP("non-persistent buffer").constant
torch.manual_seed(0)
built_first = FixedHiddenMLP("non-persistent buffer").constant
order_changes_constant = not torch.equal(built_later, built_first)

rows, linear_converted, constant_kept, constant_redrawn = {}, {}, {}, {}
for keep in ("plain attribute", "non-persistent buffer", "persistent buffer"):
    converted, linear_converted[keep], forward = follows_to(keep)
    saved = "constant" in FixedHiddenMLP(keep).state_dict()
    same, constant_kept[keep], constant_redrawn[keep] = round_trip(keep)
    rows[keep] = (converted, saved, same, forward)

print(
    f"{'':22} {'follows .to()':14} {'in state_dict':14} {'same after reload':18} forward in float64"
)
for keep, (converted, saved, same, forward) in rows.items():
    print(f"{keep:22} {converted!s:14} {saved!s:14} {same!s:18} {forward}")

print(
    "non-persistent buffer after reload: the first draw of the new seed:",
    constant_redrawn["non-persistent buffer"],
)
print("seed 0 again, another layer built first: same constant:", not order_changes_constant)

plain_error = rows["plain attribute"][3]
# Used element by element, the float32 constant would raise nothing: type promotion mixes the types.
float64_model = FixedHiddenMLP("plain attribute").to(torch.float64)
hidden64 = float64_model.linear(torch.rand(2, 8, dtype=torch.float64))
elementwise = hidden64 * float64_model.constant[0]  # float64 times float32
elementwise_dtype = str(elementwise.dtype)
# float32 to float64 is exact, so the result is even the one a converted constant would give.
promotion_exact = torch.equal(elementwise, hidden64 * float64_model.constant[0].double())
print("same constant, used elementwise: no error, result in", elementwise_dtype)
half_model = FixedHiddenMLP("plain attribute").half()
hidden16 = half_model.linear(torch.rand(2, 8).half())
half_result_dtype = str((hidden16 * half_model.constant[0]).dtype)
print("after .half(), float16 times the float32 constant gives", half_result_dtype)
# Copying or pickling the whole object does carry the plain attribute: both copy its __dict__.
whole = FixedHiddenMLP("plain attribute")
pickled = io.BytesIO()
torch.save(whole, pickled)  # the whole module, not its state_dict
pickled.seek(0)
copies = (copy.deepcopy(whole), torch.load(pickled, weights_only=False))
whole_copies_keep = [torch.equal(copied.constant, whole.constant) for copied in copies]
print("deepcopy and torch.save(model) keep the plain constant:", whole_copies_keep)
plain_follows, plain_saved, plain_reloads = rows["plain attribute"][:3]
non_persistent_follows, non_persistent_saved, non_persistent_reloads = rows[
    "non-persistent buffer"
][:3]
persistent_follows, persistent_saved, persistent_reloads = rows["persistent buffer"][:3]

# .to(device) treats the constant exactly like .to(torch.float64) does. The "meta" device, which
# holds shapes but no data, shows it on any machine.
on_meta = FixedHiddenMLP("plain attribute").to("meta")
meta_devices = (on_meta.linear.weight.device.type, on_meta.constant.device.type)
print(f"after .to('meta'): linear.weight on {meta_devices[0]}, constant on {meta_devices[1]}")
buffer_meta_devices = tuple(
    FixedHiddenMLP(keep).to("meta").constant.device.type
    for keep in ("non-persistent buffer", "persistent buffer")
)
print("after .to('meta'): the constant kept as either kind of buffer on", buffer_meta_devices)
# On meta the matrix product does not compare devices: only a real accelerator shows the failure.
meta_output = on_meta(torch.rand(2, 8).to("meta")).device.type
print("on meta, the product with the CPU constant runs: output on", meta_output)
if device.type != "cpu":  # a real accelerator: the constant stays on the CPU, and forward fails
    model = FixedHiddenMLP("plain attribute").to(device)
    print(
        f"after .to({device.type!r}): linear.weight on {model.linear.weight.device.type}, "
        f"constant on {model.constant.device.type}"
    )
    assert model.constant.device.type == "cpu"
    mismatch = None
    try:
        model(torch.rand(2, 8).to(device))
    except RuntimeError as error:
        mismatch = str(error)
        print(f"{type(error).__name__}: {mismatch.splitlines()[0]}")
    assert mismatch is not None and "device" in mismatch  # witness: device-mismatch

assert linear_converted["plain attribute"] and not plain_follows  # witness: plain-not-converted
fails_on_dtype = plain_error.startswith("RuntimeError") and "same dtype" in plain_error
assert fails_on_dtype  # witness: plain-fails
assert not plain_saved  # witness: plain-not-saved
assert whole_copies_keep == [True, True]  # witness: whole-object-keeps-plain
assert not plain_reloads and not constant_kept["plain attribute"]  # witness: plain-not-reloaded
buffers_moved = buffer_meta_devices == ("meta", "meta")
assert non_persistent_follows and persistent_follows and buffers_moved  # witness: buffers-follow
buffer_forwards = rows["non-persistent buffer"][3], rows["persistent buffer"][3]
assert buffer_forwards == ("runs", "runs")  # witness: buffers-run
assert not non_persistent_saved  # witness: non-persistent-not-saved
assert not non_persistent_reloads  # witness: non-persistent-not-reloaded
redrawn = not constant_kept["non-persistent buffer"] and constant_redrawn["non-persistent buffer"]
assert redrawn  # witness: constant-redrawn
assert same_draw_same_constant == (True, True)  # witness: same-draw-same-constant
assert order_changes_constant  # witness: order-changes-constant
plain_stays_float32 = float64_model.constant.dtype == torch.float32
assert plain_stays_float32 and elementwise_dtype == "torch.float64"  # witness: elementwise-promotes
assert promotion_exact  # witness: promotion-exact
assert half_result_dtype == "torch.float32"  # witness: half-promotes
assert persistent_saved  # witness: persistent-saved
assert persistent_reloads and constant_kept["persistent buffer"]  # witness: persistent-reloaded
assert meta_devices == ("meta", "cpu")  # witness: to-device-skips-plain
assert meta_output == "meta"  # witness: meta-runs-mixed
