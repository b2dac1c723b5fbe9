#!/bin/bash
cd /work/main
echo "lock acquired $(date -u)"
s=$(date +%s)
.venv/bin/dlcourse run PyTorch/06_Image_Segmentation/00_cell_tissue_segmentation.ipynb --quick --out /tmp/h24/q || { echo "QUICK FAILED $(date -u)"; exit 1; }
echo "quick done $(date -u) in $(( $(date +%s) - s )) s"
s=$(date +%s)
timeout 600 .venv/bin/python /tmp/h24/solutions.py || { echo "SOLUTIONS FAILED $(date -u)"; exit 1; }
echo "solutions done $(date -u) in $(( $(date +%s) - s )) s"
echo "full start $(date -u)"
s=$(date +%s)
OMP_NUM_THREADS=2 .venv/bin/dlcourse run PyTorch/06_Image_Segmentation/00_cell_tissue_segmentation.ipynb --full --out /tmp/h24/full
echo "full rc=$? end $(date -u) in $(( $(date +%s) - s )) s"
