#!/usr/bin/env bash
# On the GPU machine (device tool, carry .whl): install the carried wheels, run the suite on CUDA
# with REQUIRE_CUDA=1 and --record-gpu, and copy the new record and the log to $OUT.
# The browser and style tests need Chromium and git, which that machine lacks: they run in CI.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PATH="/tmp/site/bin:$PATH" PYTHONUNBUFFERED=1 REQUIRE_CUDA=1 NO_MKDOCS_2_WARNING=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name(0))"
python3 -m pytest -p no:cacheprovider --ignore=tests/test_browser.py --ignore=tests/test_style.py --record-gpu "$@" 2>&1 | tee "${OUT:-/tmp}/gpu-pytest.log"
status=${PIPESTATUS[0]}
cp tests/records/gpu-run.json "${OUT:-/tmp}/" 2>/dev/null
exit "$status"
