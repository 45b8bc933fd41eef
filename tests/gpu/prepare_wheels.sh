#!/usr/bin/env bash
# Download, into .whl/ at the repository root, the wheels the GPU machine lacks, for its Python
# (3.12, x86-64). That machine has torch (2.11, CUDA) and pytest but no MkDocs, no Jupyter and no
# internet; the device tool carries .whl/ (ignored by git) with the run. See run_suite.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .whl
# torch and its CUDA stack stay the machine's own; the browser and style tools are not used there;
# the compiled packages its image already holds stay its own too (the device tool carries at most
# 64 MiB: 77 MB of wheels with them, 49 MB without).
skip='^(torch|numpy|triton|nvidia-.*|sympy|mpmath|networkx|playwright|greenlet|pyee|axe-playwright-python|ruff|pre.commit|identify|nodeenv|cfgv|virtualenv|distlib|python-discovery|yamllint|rumdl|matplotlib|pillow|fonttools|kiwisolver|contourpy|cycler|pyparsing|python-dateutil|lxml)=='
grep -v '^#' constraints.txt | grep -Eiv "$skip" > .whl/requirements.txt
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_5_x86_64 \
  -d .whl -r .whl/requirements.txt
du -sh .whl
