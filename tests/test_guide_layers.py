"""The small-module test of the testing chapter (`snippets/testing/module_check.py`), run over the
custom layers that the other chapters define, on every device.

A layer meant to work passes. A layer written to show a bug fails, on the check that catches that
bug, so the helper and the chapters keep each other honest: weaken `check_module`, or fix a
demonstration bug by accident, and a case here fails.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import pytest
import torch
from conftest import DEVICES
from snippet_definitions import definitions, helper_module
from torch import nn


@dataclass(frozen=True)
class Case:
    snippet: str  # under snippets/
    layer: str  # the name of a class the snippet defines
    args: tuple = ()  # for its constructor
    input_shape: tuple[int, ...] = (4, 5)
    output_shape: tuple[int, ...] = (4, 5)
    options: dict[str, object] = field(default_factory=dict)  # for check_module
    no_gradient: tuple[str, ...] = ()  # parameters that must not learn; all others must
    fails_with: str = ""  # for a layer that shows a bug: the message of the check that catches it

    def __str__(self) -> str:
        return f"{self.snippet.removesuffix('.py')}:{self.layer}"


SOUND = [
    Case("custom_layers/01_centered_layer.py", "CenteredLayer"),
    Case("custom_layers/02_my_linear.py", "MyLinear", (5, 3), output_shape=(4, 3)),
    Case("custom_layers/03_data_bug.py", "FixedLinear", (5, 3), output_shape=(4, 3)),
    Case("custom_layers/09_exercise_meta_ready.py", "MyLinear", (5, 3), output_shape=(4, 3)),
    Case("custom_layers/09_exercise_meta_ready.py", "InitInConstructor", (5,)),
    Case("worked_examples/04_small_network.py", "CenteredLayer"),
    Case("worked_examples/04_small_network.py", "SmallNet", (10, 8, 3), (4, 10), (4, 3)),
    Case("worked_examples/07_exercise_dropout.py", "SmallNetWithDropout", (10, 8, 3), (4, 10), (4, 3)),
    Case("custom_gradients/02_quantized_linear.py", "QuantizedLinear", (5, 3), output_shape=(4, 3)),
    Case("modules/02_mlp_class.py", "MLP", (5, 8, 3), output_shape=(4, 3)),
    Case("modules/04_my_sequential.py", "MySequential", (nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)), output_shape=(4, 3)),
    Case("modules/06_nesting.py", "Block", (5, 8, 3), output_shape=(4, 3)),
    Case("modules/07_exercise_parallel.py", "Parallel", (nn.Linear(5, 3), nn.Linear(5, 2))),
    Case("containers/01_plain_list.py", "ModuleListMLP", ([5, 8, 3],), output_shape=(4, 3)),
    Case("containers/05_module_list.py", "ResidualMLP", (5, 8, 2, 3), output_shape=(4, 3)),
    Case("containers/07_parameter_list.py", "RawMLP", ([5, 8, 3],), output_shape=(4, 3)),
    Case("buffers/01_register_buffer.py", "MaskedClassifier", (4, 2, [3]), (4, 4), (4, 2)),
    Case("buffers/02_nn_buffer.py", "Standardize", (5,)),
    # These keep a Linear bias just before batch norm, which cancels it (testing chapter, exercise 2).
    Case("parameters/03_state_dict.py", "Classifier", (), (4, 4), (4, 3), no_gradient=("backbone.0.bias",)),
    Case("saving/01_state_dict.py", "Classifier", (), (4, 4), (4, 3), no_gradient=("body.0.bias",)),
    Case("initialization/04_apply_by_type.py", "MLP", (), (4, 16), (4, 3)),
    Case("modes/05_what_eval_does_not_do.py", "Aware"),
    # Its batch norm stays in eval mode, uses stored statistics, and so lets the bias before it learn.
    Case("modes/11_exercise_frozen_batchnorm.py", "FrozenBatchNormNet", (), (4, 4), (4, 1)),
    Case("modes/10_exercise_gaussian_noise.py", "GaussianNoise", (0.5,)),
    Case("devices/05_forward_tensors.py", "Portable"),
    Case("pitfalls/01_plain_tensor_attribute.py", "Scale", (5,), options={"trainable": ["scale"]}),
    Case("pitfalls/02_plain_list.py", "Stack", (5, 1), options={"trainable": ["blocks.0.weight", "blocks.0.bias"]}),
]  # fmt: skip

BROKEN = [
    Case("custom_layers/03_data_bug.py", "DataLinear", (5, 3), output_shape=(4, 3),
         fails_with="DataLinear: no gradient reached ['bias', 'weight']"),
    Case("pitfalls/05_data_attribute.py", "DataLinear", (5, 3), output_shape=(4, 3),
         fails_with="DataLinear: no gradient reached ['bias', 'weight']"),
    Case("custom_gradients/02_quantized_linear.py", "PlainRoundLinear", (5, 3), output_shape=(4, 3),
         fails_with="PlainRoundLinear: no gradient reached ['weight']"),
    Case("modes/05_what_eval_does_not_do.py", "Forgetful",
         fails_with="Forgetful: two forward passes differ in eval mode"),
    Case("modules/05_control_flow.py", "FixedMixMLP", (), (4, 16), (4, 16),
         fails_with="FixedMixMLP: example 0 gives a different output alone than in a batch of 4"),
    Case("pitfalls/01_plain_tensor_attribute.py", "PlainScale", (5,), options={"trainable": ["scale"]},
         fails_with="PlainScale: trainable names ['scale'] are not parameters"),
    Case("pitfalls/02_plain_list.py", "ListStack", (5, 1), options={"trainable": ["blocks.0.weight"]},
         fails_with="ListStack: trainable names ['blocks.0.weight'] are not parameters"),
]  # fmt: skip


check_module = helper_module("snippets/testing/module_check.py").check_module


@functools.cache
def names_defined_in(snippet: str, device: str) -> dict[str, object]:
    return definitions(f"snippets/{snippet}")


def build(case: Case, device: str) -> nn.Module:
    layer_class = names_defined_in(case.snippet, device)[case.layer]
    assert layer_class.__module__ == "__main__", f"{case.layer} is not defined in {case.snippet}"
    torch.manual_seed(0)
    return layer_class(*copy.deepcopy(case.args)).to(device)  # fresh submodules for every test


def check(case: Case, device: str):
    layer = build(case, device)
    options = dict(case.options)
    if case.no_gradient:
        options["trainable"] = [name for name, _ in layer.named_parameters() if name not in case.no_gradient]
    return check_module(layer, case.input_shape, case.output_shape, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", SOUND, ids=str)
def test_sound_layer_passes_the_small_module_test(case, device):
    assert len(check(case, device).checks) == 5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_layer_that_shows_a_bug_fails_the_small_module_test(case, device):
    with pytest.raises(AssertionError) as failure:
        check(case, device)
    assert str(failure.value) == case.fails_with
