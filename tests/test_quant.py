import bitsandbytes.functional as bnbF
import pytest
import torch

from llmft.cases import get_case
from llmft.foundations import quant
from llmft.foundations.memory_model import activation_bytes, measured_training_bytes, training_memory


def test_nf4_from_quantiles_matches_bitsandbytes():
    ours = quant.nf4_code()
    assert ours.numel() == 16 and ours[7] == 0 and ours.min() == -1 and ours.max() == 1
    assert (ours - bnbF.get_4bit_type("nf4", device="cpu")).abs().max() < 1e-6


def test_fp4_and_int4_tables():
    assert torch.equal(torch.sort(quant.fp4_code()).values,
                       torch.sort(bnbF.get_4bit_type("fp4", device="cpu")).values)
    assert torch.unique(quant.int4_code()).numel() == 15


@pytest.mark.parametrize("kind", ["nf4", "fp4"])
def test_blockwise_codes_identical_to_bitsandbytes(kind):
    x = torch.randn(64, 256, generator=torch.Generator().manual_seed(0))
    code = bnbF.get_4bit_type(kind, device="cpu")
    idx, absmax = quant.quantize_blockwise(x, code, 64)
    packed, state = bnbF.quantize_4bit(x, blocksize=64, quant_type=kind)
    assert torch.equal(quant.unpack_nibbles(packed), idx)
    assert torch.equal(quant.pack_nibbles(idx), packed.reshape(-1))
    assert torch.equal(absmax, state.absmax)
    assert torch.equal(quant.dequantize_blockwise(idx, absmax, code, x.shape), bnbF.dequantize_4bit(packed, state))


def test_ties_go_to_the_lower_code():
    code = torch.tensor([-1.0, 0.0, 1.0])
    idx, _ = quant.quantize_blockwise(torch.tensor([0.5, -0.5, 1.0, 0.2]), code, blocksize=4)
    assert idx.tolist() == [1, 0, 2, 1]


def test_absmax_int8_round_trip():
    x = torch.tensor([0.5, -1.0, 0.25])
    q, scale = quant.absmax_int8(x)
    assert q.tolist() == [64, -127, 32]
    assert (quant.dequantize_absmax_int8(q, scale) - x).abs().max() < 1 / 127


def test_nf4_beats_int4_and_fp4_on_normal_weights():
    x = torch.randn(256, 256, generator=torch.Generator().manual_seed(0))
    err = {n: quant.quantization_error(x, c) for n, c in
           [("int4", quant.int4_code()), ("fp4", quant.fp4_code()), ("nf4", quant.nf4_code())]}
    assert err["nf4"] < min(err["int4"], err["fp4"])


def test_double_quantization_saves_about_037_bits():
    plain, dq = quant.constants_bits_per_parameter(64), quant.constants_bits_per_parameter(64, double=True)
    assert plain == 0.5 and dq == pytest.approx(8 / 64 + 32 / (64 * 256))
    assert plain - dq == pytest.approx(0.373, abs=1e-3)


def test_memory_model_by_hand():
    full = training_memory(1000, 1000, "fp32", "full", activations=0)
    assert full.total == 16 * 1000
    mixed = training_memory(1000, 1000, "fp16", "full", activations=0)
    assert mixed.total == 16 * 1000
    qlora = training_memory(1000, 10, "nf4", "lora", activations=0, double_quant=False)
    assert qlora.total == pytest.approx(1000 * (0.5 + 0.5 / 8) + 10 * 16)
    with pytest.raises(ValueError):
        training_memory(1000, 1000, "nf4", "full", activations=0)


def test_activation_formula():
    # Korthikanti et al.: s*b*h*(34 + 5*a*s/h) bytes per layer in 16 bits
    assert activation_bytes(h=64, heads=4, layers=1, seq=8, batch=2) == 8 * 2 * 64 * (34 + 5 * 4 * 8 / 64)
    assert activation_bytes(64, 4, 10, 8, 2, checkpointing=True) < activation_bytes(64, 4, 10, 8, 2)


def test_measured_gradients_and_states_match_the_model():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=50, n_positions=16))
    batch = {"input_ids": torch.randint(0, 50, (2, 8))}
    batch["labels"] = batch["input_ids"]
    n = model.num_parameters()
    measured = measured_training_bytes(model, batch)
    predicted = training_memory(n, n, "fp32", "full", activations=0)
    assert measured["gradients"] == predicted.gradients and measured["optimizer"] == predicted.optimizer
    assert measured["activations"] > 0


def test_transformer_dims_cover_every_case():
    from llmft.cases import CASES
    from llmft.foundations.memory_model import transformer_dims

    assert transformer_dims(get_case("papers-llama3")) == (4096, 32, 32)
    assert all(min(transformer_dims(c)) > 0 for c in CASES.values())
