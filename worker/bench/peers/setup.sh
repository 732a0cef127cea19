#!/usr/bin/env bash
# Creates (or updates) the Python environment in which the benchmarks' peers run: `decode.py`
# (Hugging Face transformers on the CPU and llama.cpp through `llama-cpp-python`) and `train.py`
# (PyTorch + transformers + PEFT training), and OpenAI's official Python client
# (`openai_client.py`: the API check of `scripts/check-openai-client`).
# Safe to run again: pip skips what is already at the pinned version. Never run by CI.
#
# The venv lives OUTSIDE the repository (several GB: torch). llama-cpp-python ships no wheel on
# PyPI, so pip builds llama.cpp from source (scikit-build-core brings cmake and ninja from PyPI);
# on 2 cores that takes about 10 minutes. The build targets this CPU (GGML_NATIVE: AVX2/FMA/F16C
# where present), which is what a user building it on their own machine gets.
#
#   PEER_VENV        venv directory (default ~/.cache/attribution-chain/peer-venv)
#   PYTHON           interpreter that creates the venv (default python3; needs >= 3.9)
#   TORCH_INDEX_URL  extra index for torch, e.g. https://download.pytorch.org/whl/cpu for the
#                    CPU-only build (default: none; PyPI's Linux wheel carries CUDA libraries but
#                    runs on the CPU just the same)
#   CMAKE_ARGS       overrides the llama.cpp build flags below
#   JOBS             parallel compile jobs (default: number of cores)
#
# Prints the venv's python on the last line: run `decode.py` and `train.py` with it (or pass it
# to `attribution-worker bench decode|train --peers`).
set -euo pipefail

TORCH=2.15.0
TRANSFORMERS=5.24.0
GGUF=0.19.0
PEFT=0.21.2
LLAMA_CPP_PYTHON=0.3.36
OPENAI=3.57.0

VENV=${PEER_VENV:-$HOME/.cache/attribution-chain/peer-venv}
PYTHON=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc)}

if [ ! -x "$VENV/bin/python" ]; then
  echo "peers/setup: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

torch_index=()
[ -n "${TORCH_INDEX_URL:-}" ] && torch_index=(--extra-index-url "$TORCH_INDEX_URL")
echo "peers/setup: torch $TORCH, transformers $TRANSFORMERS, gguf $GGUF, peft $PEFT" >&2
"${PIP[@]}" "${torch_index[@]}" "torch==$TORCH" "transformers==$TRANSFORMERS" "gguf==$GGUF" "peft==$PEFT" "openai==$OPENAI" >&2

# llama.cpp's own defaults, stated: native CPU features, OpenMP threads, no BLAS (llama.cpp's
# quantized matmuls beat a BLAS for decode), no curl (models are local files), no tests/examples.
# On a CPU with AMX, llama.cpp 0.3.36 built natively takes its AMX path for Q4_1, which crashed
# on a 2-core Intel Xeon (a general protection fault at `ldtilecfg` in `ggml_backend_amx_mul_mat`,
# its tile configuration only partly initialized): there the build leaves AMX out and llama.cpp
# runs its AVX-512 VNNI kernels, as a user whose build crashed would do.
no_amx=""
if grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
  no_amx="-DCMAKE_C_FLAGS=-mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16 -DCMAKE_CXX_FLAGS=-mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16"
fi
export CMAKE_ARGS=${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_OPENMP=ON -DGGML_BLAS=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF $no_amx}
export CMAKE_BUILD_PARALLEL_LEVEL=$JOBS
installed=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null || true)
if [ "$installed" != "$LLAMA_CPP_PYTHON" ]; then
  echo "peers/setup: building llama-cpp-python $LLAMA_CPP_PYTHON (CMAKE_ARGS=$CMAKE_ARGS, $JOBS jobs)" >&2
  # --no-binary: always compile for this CPU, even if a generic wheel is cached or on an index.
  "${PIP[@]}" --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_PYTHON" >&2
fi

"$VENV/bin/python" - >&2 <<'PY'
import importlib.metadata as m
for name in ("torch", "transformers", "gguf", "peft", "llama_cpp_python", "openai"):
    print(f"peers/setup: {name} {m.version(name)}")
PY
echo "$VENV/bin/python"
