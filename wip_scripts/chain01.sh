#!/bin/bash
# The full run of 06/01, then its quick run with the exercise solutions, in one lock hold.
cd /work/wt24 || exit 1
export PYTHONPATH=/work/wt24/src
echo "full start $(date -u)"
env OMP_NUM_THREADS=2 /work/main/.venv/bin/dlcourse run PyTorch/06_Image_Segmentation/01_mitosis_detection_brightfield.ipynb --full --out /tmp/h24b/full01 > /tmp/h24b/full01.log 2>&1
echo "full rc=$? end $(date -u)"
echo "sol start $(date -u)"
/work/main/.venv/bin/pytest -q -p no:cacheprovider tests/test_exercise_solutions.py -k 06_Image > /tmp/h24b/sol01.log 2>&1
echo "sol rc=$? end $(date -u)"
