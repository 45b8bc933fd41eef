"""Layer tests in pytest's style. Save as test_layers.py beside module_check.py and run `pytest`,
or run this file with python: it then calls each test itself.
"""

import torch
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class CenteredLayer(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


class MyLinear(nn.Module):
    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight + self.bias)


class DataMyLinear(MyLinear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight.data + self.bias.data)


def test_centered_layer_has_no_parameters():
    assert list(CenteredLayer().parameters()) == []


def test_centered_layer():  # no parameter or buffer to take the device from: pass it
    check_module(CenteredLayer(), input_shape=(4, 5), expected_output_shape=(4, 5), device=device)


def test_centered_rows_average_zero():
    torch.manual_seed(0)
    y = CenteredLayer()(torch.randn(4, 5).to(device))
    assert torch.allclose(y.mean(dim=-1), torch.zeros(4, device=device), atol=1e-6)


def test_my_linear():
    torch.manual_seed(0)
    check_module(MyLinear(5, 3).to(device), input_shape=(4, 5), expected_output_shape=(4, 3))


def test_my_linear_single_example():
    torch.manual_seed(0)
    check_module(MyLinear(5, 3).to(device), input_shape=(1, 5), expected_output_shape=(1, 3))


def test_check_module_catches_the_data_bug():
    torch.manual_seed(0)
    try:  # with pytest: `with pytest.raises(AssertionError, match="no gradient reached"):`
        check_module(
            DataMyLinear(5, 3).to(device), input_shape=(4, 5), expected_output_shape=(4, 3)
        )
    except AssertionError as error:
        assert "no gradient reached" in str(error)
    else:
        raise AssertionError("check_module did not notice that the weights get no gradient")


if __name__ == "__main__":
    tests = [test for name, test in list(globals().items()) if name.startswith("test_")]
    for test in tests:
        test()
        print("passed", test.__name__)
    tests_passed = len(tests)
    print(f"{tests_passed} tests passed")
    assert tests_passed == 6
