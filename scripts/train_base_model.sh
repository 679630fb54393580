#!/usr/bin/env bash
# Make the built-in base model builtin:music21-mini from nothing, with tribute's own commands.
#
#   scripts/train_base_model.sh [WORK]          # WORK defaults to runs/base
#   RESUME=1 scripts/train_base_model.sh        # continue an interrupted pretraining
#   BUDGET=12h scripts/train_base_model.sh      # more compute (default 6h of one core)
#   PRESET=small BUDGET=10m scripts/train_base_model.sh   # a bigger model (on a GPU: it is
#                                                         # used when torch sees one)
#
# On 2 CPU cores: the Bach corpus ~1 min, the genre corpus ~15 min, the pretraining BUDGET of
# one core's time (the other core stays free; --threads 1 so the plan counts CPU time), then
# the packaging step (~5 min), which writes src/tribute/builtin/models/music21-mini and
# docs/music21-mini-curve.png. The recipe (mini preset, 512-token windows, BPE 2,000, lr 1.5e-3,
# 3 augmented copies, a quarter of the windows infill examples) is benchmarks/recipe_study.md's.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/base}
BUDGET=${BUDGET:-6h}
PRESET=${PRESET:-mini}
TRIBUTE=.venv/bin/tribute

[ -f "$WORK/bach/corpus.json" ] ||
    $TRIBUTE corpus build music21:bach-chorales --out "$WORK/bach"
[ -f "$WORK/genre/corpus.json" ] ||
    $TRIBUTE corpus build music21:all-bach --exclude-families-of "$WORK/bach" --out "$WORK/genre"
if [ -n "${RESUME:-}" ]; then again=--resume; else again=--force; fi
$TRIBUTE pretrain "$WORK/genre" --out "$WORK/model" --preset "$PRESET" --seq-len 512 \
    --vocab-size 2000 --lr 1.5e-3 --augment-copies 3 --infill-rate 0.25 \
    --time-budget "$BUDGET" --validations 30 --save-every 500 --threads 1 --no-progress $again
.venv/bin/python scripts/package_base_model.py "$WORK/model" --genre "$WORK/genre" \
    --artist "$WORK/bach" --name music21-mini
