import dataclasses

import pytest
import torch
from peft import get_peft_model
from torch import nn
from transformers.pytorch_utils import Conv1D

from llmft import models
from llmft.cases import CASES, get_case
from llmft.foundations.lora import (
    LoRALinear,
    best_rank_error,
    fit_low_rank,
    lora_params,
    peft_twin,
    randomize_b,
    trainable_by_formula,
)


def _x():
    return torch.randn(3, 5, 32, generator=torch.Generator().manual_seed(1))


def test_b_starts_at_zero_so_the_layer_is_the_base():
    base = nn.Linear(32, 16)
    layer = LoRALinear(base, r=4, alpha=8)
    assert torch.equal(layer(_x()), base(_x()))
    assert not base.weight.requires_grad and layer.A.requires_grad and layer.B.requires_grad


@pytest.mark.parametrize("rslora", [False, True])
@pytest.mark.parametrize("kind", ["linear", "conv1d"])
def test_same_output_as_peft(kind, rslora):
    base = nn.Linear(32, 16) if kind == "linear" else Conv1D(16, 32)
    ours = randomize_b(LoRALinear(base, r=4, alpha=8, fan_in_fan_out=kind == "conv1d", rslora=rslora)).eval()
    twin, layer = peft_twin(ours, rslora=rslora)
    assert layer.scaling["default"] == pytest.approx(ours.scaling)
    assert (ours(_x()) - twin(_x())).abs().max() < 1e-6
    assert not torch.equal(ours(_x()), ours.base(_x()))  # the update is really there


def test_scaling_rules():
    assert LoRALinear(nn.Linear(8, 8), r=16, alpha=32).scaling == 2.0
    assert LoRALinear(nn.Linear(8, 8), r=16, alpha=32, rslora=True).scaling == 8.0


def test_merge_reproduces_output_and_matches_peft_and_unmerge_restores():
    ours = randomize_b(LoRALinear(nn.Linear(32, 16), r=4, alpha=8)).eval()
    twin, layer = peft_twin(ours)
    w0, y0 = ours.base.weight.detach().clone(), ours(_x())
    ours.merge()
    layer.merge()
    assert (ours(_x()) - y0).abs().max() < 1e-5
    assert torch.equal(ours.base.weight, layer.base_layer.weight)
    merged_max = ours.base.weight.abs().max()
    ours.unmerge()
    eps = torch.finfo(torch.float32).eps
    assert (ours.base.weight - w0).abs().max() <= eps * merged_max


def test_dropout_only_touches_the_update():
    base = nn.Linear(32, 16)
    layer = randomize_b(LoRALinear(base, r=4, alpha=8, dropout=0.9)).train()
    torch.manual_seed(0)
    y = layer(_x())
    assert not torch.equal(y, layer.eval()(_x()))
    layer.B.data.zero_()
    assert torch.equal(layer.train()(_x()), base(_x()))  # with no update, dropout changes nothing


@pytest.mark.parametrize("key", list(CASES))
def test_formula_matches_peft_on_real_size_architectures(key):
    case = get_case(key)
    counted = models.count_params(get_peft_model(models.real_size_on_meta(case), models.lora_config(case)))
    assert counted.trainable == trainable_by_formula(case)


def test_formula_for_other_targets():
    case = get_case("papers-llama3")
    attn_only = dataclasses.replace(case.lora, target_modules=("q_proj", "v_proj"))
    # Llama-3-8B: q is 4096x4096, v is 4096x1024 (8 key-value heads of 128), 32 layers
    assert lora_params(case, attn_only) == 32 * 64 * ((4096 + 4096) + (4096 + 1024))


def test_low_rank_fit_reaches_the_svd_optimum_at_the_true_rank():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(24, 3, generator=g) @ torch.randn(3, 20, generator=g)
    assert best_rank_error(target, 3) < 1e-4
    err = lambda r: float((fit_low_rank(target, r, steps=800) - target).norm())  # noqa: E731
    assert err(1) > err(2) > err(3)
    assert err(1) == pytest.approx(best_rank_error(target, 1), rel=0.05)
    assert err(3) < 0.02 * float(target.norm())
