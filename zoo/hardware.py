"""What the machine's CPU can do, for the choices that depend on it and for the benchmarks' records.

The zoo's machines differ (a 2-core AMD EPYC with AVX2 only, a 2-core Intel Xeon with AVX-512 and
VNNI, ...), and the fastest way to train or run a generator differs with them: bfloat16 pays only
where the CPU multiplies bfloat16 natively (AVX512_BF16, AMX), int8 only where it has int8
dot-product instructions (VNNI, AMX, Arm's dot product). This module reads those facts without
TensorFlow: numpy's own CPU dispatch table (which checks that the OS enables the registers too)
and, on Linux, the kernel's flags in /proc/cpuinfo (AMX and AVX-VNNI, which numpy does not list).
A flag the hypervisor hides is absent: a virtual machine runs what it is shown, not what the chip has.
"""

import functools
import os
import platform
from pathlib import Path

# The flags that decide speed here, in the words of Linux's /proc/cpuinfo (x86, then Arm).
FLAGS = (
    "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
    "amx_tile", "amx_bf16", "amx_int8", "asimddp", "bf16", "i8mm",
)
# numpy's names of some of them (numpy checks that the OS saves the registers they need).
NUMPY_NAMES = {
    "AVX2": "avx2", "FMA3": "fma", "AVX512F": "avx512f", "AVX512VNNI": "avx512_vnni",
    "AVX512BF16": "avx512_bf16", "AVX512FP16": "avx512_fp16", "ASIMDDP": "asimddp",
}
# How the README and benchmark tables name them.
LABELS = {
    "avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "VNNI", "avx_vnni": "AVX-VNNI", "avx512_bf16": "AVX512_BF16",
    "avx512_fp16": "AVX512_FP16", "amx_bf16": "AMX-BF16", "amx_int8": "AMX-INT8", "asimddp": "Arm dot product", "bf16": "Arm BF16",
}


@functools.lru_cache(maxsize=None)
def cpu_flags():
    """The flags of `FLAGS` this CPU has, as a frozenset (from numpy and /proc/cpuinfo)."""
    found = set()
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            __cpu_features__ = {}
    found.update(flag for name, flag in NUMPY_NAMES.items() if __cpu_features__.get(name))
    for line in _cpuinfo_lines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            found.update(flag for flag in value.split() if flag in FLAGS)
            break
    return frozenset(found)


def _cpuinfo_lines():
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def cpu_model():
    """The CPU's model name (e.g. "AMD EPYC", "Intel(R) Xeon(R) Processor")."""
    for line in _cpuinfo_lines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model"):
            return value.strip()
    return platform.processor() or platform.machine()


def native_bfloat16():
    """Whether the CPU multiplies bfloat16 in hardware (AVX512_BF16 or AMX-BF16 on x86, BF16 on Arm).

    Without it, TensorFlow's oneDNN converts every bfloat16 operand to float32 and back: the
    `mixed_bfloat16` policy then trains slower than float32, not faster.
    """
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16", "bf16"})


def int8_dot_product():
    """Whether the CPU has int8 dot-product instructions (VNNI, AVX-VNNI, AMX-INT8, Arm's dot product),
    on which onnxruntime's int8 kernels run at several times the float32 rate."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8", "asimddp"})


def describe():
    """The CPU in a benchmark record: model, cores and the flags that matter (`LABELS`' names)."""
    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "flags": [label for flag, label in LABELS.items() if flag in flags],
    }


def machine_kind(description=None):
    """A short name for a kind of machine, the key of one row set in the README's tables:
    "AMD EPYC (AVX2)", "Intel(R) Xeon(R) Processor (AVX2, AVX-512, VNNI)"."""
    description = description or describe()
    flags = description.get("flags")
    return f"{description['cpu']} ({', '.join(flags)})" if flags else description["cpu"]
