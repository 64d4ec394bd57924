"""Floating-point formats (1, e, m): FP32, BF16, FP16 and custom ones (SPEC-arith §5)."""
from __future__ import annotations

from dataclasses import dataclass

from archsim_core.errors import SpecError


@dataclass(frozen=True)
class FPFormat:
    """A binary floating-point format with 1 sign bit, `exp_bits` exponent and `man_bits`
    stored fraction bits (the significand has man_bits + 1 bits with the hidden one)."""

    exp_bits: int
    man_bits: int
    name: str = ""

    def __post_init__(self):
        if not (isinstance(self.exp_bits, int) and 2 <= self.exp_bits <= 11):
            raise SpecError(f"format {self.name or '?'}: exp_bits must be an integer in 2..11, got {self.exp_bits!r}")
        if not (isinstance(self.man_bits, int) and 1 <= self.man_bits <= 23):
            raise SpecError(f"format {self.name or '?'}: man_bits must be an integer in 1..23, got {self.man_bits!r}")
        if not self.name:
            object.__setattr__(self, "name", f"fp1_{self.exp_bits}_{self.man_bits}")

    @property
    def bias(self) -> int:
        """Exponent bias 2^(e-1) - 1."""
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def width(self) -> int:
        """Total bits of one encoded value."""
        return 1 + self.exp_bits + self.man_bits

    @property
    def sig_bits(self) -> int:
        """Significand width including the hidden bit (the multiplier's operand width)."""
        return self.man_bits + 1


FP32 = FPFormat(8, 23, "fp32")
BF16 = FPFormat(8, 7, "bf16")
FP16 = FPFormat(5, 10, "fp16")
NAMED_FORMATS = {f.name: f for f in (FP32, BF16, FP16)}


def get_format(spec) -> FPFormat:
    """A format from a name ('fp32', 'bf16', 'fp16'), a mapping {exp_bits, man_bits}, or itself."""
    if isinstance(spec, FPFormat):
        return spec
    if isinstance(spec, str):
        try:
            return NAMED_FORMATS[spec.lower()]
        except KeyError:
            raise SpecError(f"unknown format {spec!r} (known: {', '.join(NAMED_FORMATS)}, "
                            "or {exp_bits: E, man_bits: M})") from None
    if isinstance(spec, dict) and set(spec) <= {"exp_bits", "man_bits", "name"} and \
            {"exp_bits", "man_bits"} <= set(spec):
        return FPFormat(spec["exp_bits"], spec["man_bits"], spec.get("name", ""))
    raise SpecError(f"format must be a name or {{exp_bits, man_bits}}, got {spec!r}")
