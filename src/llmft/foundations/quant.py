"""Quantization from scratch: absmax, blockwise, NF4/FP4/Int4 codebooks, double quantization.

The Foundations chapter shows this code and checks it against ``bitsandbytes``.
"""

from __future__ import annotations

from statistics import NormalDist

import torch


# ------------------------------------------------------------ absmax int8
def absmax_int8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale by 127 / max|x| and round: one constant for the whole tensor."""
    scale = 127 / x.abs().max()
    return torch.round(x * scale).to(torch.int8), scale


def dequantize_absmax_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return q.float() / scale


# ------------------------------------------------------------ 4-bit codebooks
NF4_OFFSET = 0.9677083  # QLoRA's choice: the outermost quantile used, (1 - 1/(2*15) + 1 - 1/(2*16)) / 2


def nf4_code(offset: float = NF4_OFFSET) -> torch.Tensor:
    """NormalFloat4: 16 values at quantiles of N(0, 1), rescaled to [-1, 1], with an exact zero.

    8 positive quantiles and 7 negative ones (so that 0 is represented exactly), taken at evenly
    spaced probabilities between 1/2 and ``offset``; then everything is divided by the largest.
    Probabilities are spaced in float32, as the reference implementation does.
    """
    inv = NormalDist().inv_cdf
    positive = [inv(p) for p in torch.linspace(offset, 0.5, 9)[:-1].tolist()]
    negative = [-inv(p) for p in torch.linspace(offset, 0.5, 8)[:-1].tolist()]
    values = torch.tensor(sorted(positive + [0.0] + negative), dtype=torch.float64)
    return (values / values.abs().max()).float()


def fp4_code() -> torch.Tensor:
    """FP4 (1 sign, 2 exponent, 1 mantissa bit), as bitsandbytes lays it out, sorted and rescaled to [-1, 1].

    The magnitudes are 0, a subnormal 0.0625, and (1 or 1.5) x 2**e for e = 1..3; divided by 12.
    """
    magnitudes = [0.0, 0.0625, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0]
    values = sorted(set(magnitudes) | {-m for m in magnitudes})  # -0 and 0 are one value
    values = torch.tensor(values) / 12.0
    # bitsandbytes keeps 16 entries (+0 and -0); the extra zero changes no quantized value
    return torch.cat([values[:8], torch.zeros(1), values[8:]])


def int4_code() -> torch.Tensor:
    """Symmetric 4-bit integers -7..7 rescaled to [-1, 1] (15 distinct levels, plus a repeated 0)."""
    values = torch.arange(-7, 8, dtype=torch.float32) / 7
    return torch.cat([values[:7], torch.zeros(1), values[7:]])


# ------------------------------------------------------------ blockwise quantization with a codebook
def quantize_blockwise(x: torch.Tensor, code: torch.Tensor, blocksize: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``x`` into blocks, scale each by its absmax, map every value to the nearest code index.

    Returns (indices as uint8, one absmax per block). A value exactly halfway between two code
    values goes to the lower one, as bitsandbytes does. ``x.numel()`` must be a multiple of ``blocksize``.
    """
    flat = x.reshape(-1, blocksize).float()
    absmax = flat.abs().max(dim=1).values
    scaled = torch.clamp(flat / absmax.clamp(min=1e-38)[:, None], -1, 1).reshape(-1)
    order = torch.argsort(code)
    midpoints = (code[order[:-1]] + code[order[1:]]) / 2
    idx = order[torch.bucketize(scaled, midpoints)]
    return idx.to(torch.uint8), absmax


def dequantize_blockwise(idx: torch.Tensor, absmax: torch.Tensor, code: torch.Tensor, shape) -> torch.Tensor:
    blocks = absmax.numel()
    return (code[idx.long()].reshape(blocks, -1) * absmax[:, None]).reshape(shape)


def pack_nibbles(idx: torch.Tensor) -> torch.Tensor:
    """Two 4-bit indices per byte, the first in the high nibble (bitsandbytes' layout)."""
    return (idx[0::2] << 4) | idx[1::2]


def unpack_nibbles(packed: torch.Tensor) -> torch.Tensor:
    packed = packed.reshape(-1)
    out = torch.empty(packed.numel() * 2, dtype=torch.uint8)
    out[0::2], out[1::2] = packed >> 4, packed & 0xF
    return out


def quantization_error(x: torch.Tensor, code: torch.Tensor, blocksize: int = 64) -> float:
    """Mean squared error of a blockwise round trip."""
    idx, absmax = quantize_blockwise(x, code, blocksize)
    return float((dequantize_blockwise(idx, absmax, code, x.shape) - x).pow(2).mean())


# ------------------------------------------------------------ double quantization
def constants_bits_per_parameter(blocksize: int = 64, double: bool = False, blocksize2: int = 256) -> float:
    """Memory of the quantization constants, in bits per weight.

    Plain: one fp32 absmax per block of ``blocksize`` weights. Double quantization stores those
    absmax values in 8 bits, with one fp32 constant per block of ``blocksize2`` of them
    (the mean offset is one more fp32 number per tensor, negligible).
    """
    if not double:
        return 32 / blocksize
    return 8 / blocksize + 32 / (blocksize * blocksize2)
