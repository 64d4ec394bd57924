"""Build script: package metadata and the Cython extensions of archsim_core.

Environment switches:
  ARCHSIM_NATIVE=1   build with -march=native (opt-in; the default target is portable x86-64)
  ARCHSIM_ONLY=a,b   build only these extension modules (e.g. "_eval,_kernels"); for development
"""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = Path(__file__).resolve().parent
COMPILE_ARGS = ["-O3", "-fopenmp", "-fno-fast-math", "-ffp-contract=off"]
if os.environ.get("ARCHSIM_NATIVE") == "1":
    COMPILE_ARGS.append("-march=native")
LINK_ARGS = ["-fopenmp"]


def extensions():
    """One extension per archsim_core/*.pyx file (optionally filtered by ARCHSIM_ONLY)."""
    only = {s.strip() for s in os.environ.get("ARCHSIM_ONLY", "").split(",") if s.strip()}
    exts = []
    for pyx in sorted((HERE / "archsim_core").glob("*.pyx")):
        if only and pyx.stem not in only:
            continue
        exts.append(Extension(
            f"archsim_core.{pyx.stem}", [str(pyx.relative_to(HERE))],
            include_dirs=[numpy.get_include()],
            extra_compile_args=COMPILE_ARGS, extra_link_args=LINK_ARGS,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        ))
    return cythonize(exts, language_level=3, compiler_directives={"embedsignature": True})


setup(
    name="archsim",
    version="0.1.0",
    description="Design, simulate, cost and attack approximate-arithmetic CNN accelerators",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["archsim", "archsim.*", "archsim_core", "archsim_core.*"]),
    package_data={"archsim_core": ["*.pyx", "*.pxd", "*.pyi", "data/*.yaml"],
                  "archsim": ["data/*.yaml", "data/*.csv"]},
    ext_modules=extensions(),
    install_requires=["numpy>=1.24", "simpy>=4", "PyYAML>=6", "matplotlib>=3.6", "tqdm>=4.60"],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "scipy>=1.10"],
        "robust": ["torch>=2.1,<=2.14.1", "adversarial-robustness-toolbox>=1.17"],
        "cifar": ["Pillow>=9"],
        "sweep": ["dask[distributed]>=2024.1", "pyarrow>=14"],
        # ONNX import (archsim.network.onnx); onnxruntime is the tests' oracle, scipy computes
        # Erf/Gelu, torch + torchvision export the test and benchmark models
        "onnx": ["onnx>=1.14", "onnxruntime>=1.16", "scipy>=1.9", "torchvision==0.28.0"],
    },
    entry_points={"console_scripts": ["archsim = archsim.cli:main"]},
    zip_safe=False,
)
