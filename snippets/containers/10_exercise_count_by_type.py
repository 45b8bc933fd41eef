"""Exercise: parameters per layer type, each module counting only the parameters it owns."""

from collections import Counter

from torch import nn

model = nn.Sequential(
    nn.Linear(8, 16),
    nn.LayerNorm(16),
    nn.ReLU(),
    nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16), nn.ReLU()),
    nn.Linear(16, 4),
)

# parameters() recurses, so summing it over named_modules() counts nested parameters again.
naive = sum(p.numel() for _, module in model.named_modules() for p in module.parameters())
# recurse=False: only the parameters a module owns directly.
by_type = Counter()
for _, module in model.named_modules():
    by_type[type(module).__name__] += sum(p.numel() for p in module.parameters(recurse=False))
by_type = {name: count for name, count in by_type.items() if count}
total = sum(p.numel() for p in model.parameters())
print("per type:", by_type)
print(f"sum {sum(by_type.values())} = total {total}; the naive sum gives {naive}")

# A shared (tied) weight is owned by both modules, so recurse=False counts it twice.
tied = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False))
tied[1].weight = tied[0].weight
tied_parts = sum(p.numel() for m in tied.modules() for p in m.parameters(recurse=False))
tied_total = sum(p.numel() for p in tied.parameters())

linear_parameters, norm_parameters = by_type["Linear"], by_type["LayerNorm"]
assert linear_parameters == (8 * 16 + 16) + (16 * 16 + 16) + (16 * 4 + 4) == 484
assert norm_parameters == 2 * (16 + 16) == 64
assert sum(by_type.values()) == total == 548
# The root counts all 548, the leaves count all 548 again, the inner Sequential its 304 once more.
assert naive == 548 + 548 + (16 * 16 + 16 + 32) == 1400
assert (tied_parts, tied_total) == (32, 16)  # witness: shared-counted-per-owner
