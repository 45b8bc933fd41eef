#!/usr/bin/env bash
# On the GPU machine (device tool, carry .whl): install the carried wheels, run the suite on CUDA
# with REQUIRE_CUDA=1 and --record-gpu, and copy the new record and the log to $OUT.
# The browser, accessibility and style tests need Chromium and git, which that machine lacks: they
# run in CI.
#
# `run_suite.sh --rehearse` runs the same steps on a machine without a GPU (the CUDA tests are
# deselected and nothing is recorded), to prove the wheels and the script before spending GPU time
# on them.
set -uo pipefail
strict=(--record-gpu)
export REQUIRE_CUDA=1
if [[ "${1:-}" == "--rehearse" ]]; then
  shift
  strict=()
  unset REQUIRE_CUDA
  echo "REHEARSAL: CUDA tests are deselected and no GPU record is written"
fi
site=${GPU_SUITE_SITE:-/tmp/site}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl || exit 1
# JUPYTER_PATH: nbconvert finds its templates (installed under share/jupyter) only on that path.
export PYTHONPATH="$site:$PWD" PATH="$site/bin:$PATH" JUPYTER_PATH="$site/share/jupyter" PYTHONUNBUFFERED=1 NO_MKDOCS_2_WARNING=1
# NVIDIA's containers set this to force TF32 in float32 matrix products; the guide shows defaults.
env | grep -E '^(TORCH_ALLOW_TF32|NVIDIA_TF32|CUBLAS_WORKSPACE)' || true
unset TORCH_ALLOW_TF32_CUBLAS_OVERRIDE
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0))"
# One line per test as it ends (-v), so that a run stopped early still names what failed; and a
# limit (GPU_SUITE_SECONDS) after which pytest is interrupted, as Ctrl-C does, and prints its
# summary of the failures so far, inside the device session's time. Pass -m cuda to run only the
# CUDA cases (the CPU ones run in CI), and -n N to spread them over the machine's cores.
timeout --signal=INT --kill-after=30 "${GPU_SUITE_SECONDS:-420}" \
  python3 -m pytest -p no:cacheprovider -n 0 -v -rfE --tb=short --ignore=tests/test_browser.py \
  --ignore=tests/test_style.py --ignore=tests/test_accessibility.py --ignore=tests/browser_support.py "${strict[@]}" "$@" 2>&1 | tee "${OUT:-/tmp}/gpu-pytest.log"
status=${PIPESTATUS[0]}
cp tests/records/gpu-run.json "${OUT:-/tmp}/" 2>/dev/null
exit "$status"
