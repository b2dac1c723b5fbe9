"""Insert 06/00's third-edition section into RESULTS.md from /tmp/h24/full/results.json."""
import json
import subprocess

run = json.load(open("/tmp/h24/full/results.json"))[0]
m = run["metrics"]
log = open("/tmp/h24/chain.log").read()
start = [l for l in log.splitlines() if l.startswith("full start")][0].removeprefix("full start ")
end = [l for l in log.splitlines() if l.startswith("full rc=")][0]
f = lambda k: f"{m[k]:.4f}"
ok = lambda b: "✓" if b else "✗"
section = f"""### Cell tissue, `00` (ISBI 2012 EM): third edition (issue 24)

`OMP_NUM_THREADS=2 .venv/bin/dlcourse run PyTorch/06_Image_Segmentation/00_cell_tissue_segmentation.ipynb --full --out /tmp/h24/full`
(started {start}; {end}; alone under the CPU lock, after a quick run and a quick run with the
exercise solutions in the same hold): **{m['notebook_minutes']:.1f} min** (training of the three
U-Nets {m['unet_train_minutes']:.1f} min). One recipe, three seeds (0, 1, 2): the labels moved by
the measured offset onto the membranes, all 8 rotations and mirror images in training and at test
time, the prediction moved back; width 16, depth 4, 160-pixel patches, 16 epochs of 75 batches of
6 (24 before), AdamW + one-cycle (3e-3), BCE + soft Dice, tiles of 256 blended with a linear ramp
over the 32-pixel overlap. The notebook now writes the patch `Dataset`, the soft Dice loss, the
blended tiled prediction and the scores in its cells. The forest (ilastik-style filters, 96,000
training pixels, 50 trees) learns from the same moved labels and its prediction moves back; its
`min_samples_leaf` (1, 4 or 16; kept: {m['rf_min_samples_leaf']}) is chosen on the validation
slices by membrane Dice, as the network's design was. Slices 0–23 train, 24–29 validate (all
figures); the challenge's test slices have no public labels. Rand error and VI: cells =
4-connected non-membrane pixels, truth's membrane ignored (scikit-image, `ignore_labels=(0,)`),
per slice, averaged over the 6 slices.

| Metric (validation slices 24–29) | second edition (two networks averaged, seed 0) | third edition: U-Net, mean ± spread (ddof=1) over 3 seeds | forest (tuned) | Target |
| --- | --- | --- | --- | --- |
| pixel accuracy (`val_pixel_accuracy_mean`) | 0.9303 | **{f('val_pixel_accuracy_mean')}** ± {f('val_pixel_accuracy_spread')} | {f('rf_val_pixel_accuracy')} | ≥ 0.927 and > forest {ok(m['val_pixel_accuracy_mean'] >= 0.927 and m['val_pixel_accuracy_mean'] > m['rf_val_pixel_accuracy'])} |
| membrane Dice (`val_membrane_dice_mean`) | 0.8263 | **{f('val_membrane_dice_mean')}** ± {f('val_membrane_dice_spread')} | {f('rf_val_membrane_dice')} (second edition: 0.7280) | ≥ 0.82 and > forest {ok(m['val_membrane_dice_mean'] >= 0.82 and m['val_membrane_dice_mean'] > m['rf_val_membrane_dice'])} |
| adapted Rand error (`val_rand_error_mean`) | not measured | **{f('val_rand_error_mean')}** ± {f('val_rand_error_spread')} | {f('rf_val_rand_error')} | < forest {ok(m['val_rand_error_mean'] < m['rf_val_rand_error'])} |
| variation of information, bits (`val_vi_mean`) | not measured | **{f('val_vi_mean')}** ± {f('val_vi_spread')} | {f('rf_val_vi')} | < forest {ok(m['val_vi_mean'] < m['rf_val_vi'])} |
| membrane Dice, seed 0, one view (`val_membrane_dice_one_view`) | 0.8170 (network A) | {f('val_membrane_dice_one_view')} | | |
| minutes | 10.5 | {m['notebook_minutes']:.1f} | | ≤ 15 {ok(m['notebook_minutes'] <= 15)} |

The two-network average of the second edition is gone: it added 0.0009 pixel accuracy over
network B alone, less than the seed-to-seed spread of single networks (0.9276–0.9296), so it was
not re-tested here.

"""
p = "/work/main/RESULTS.md"
s = open(p).read()
anchor = "### Cell tissue, `00` (ISBI 2012 EM): measured, targets met (pixel accuracy by 0.0003)"
assert s.count(anchor) == 1
s = s.replace(anchor, section + anchor.replace("measured, targets met", "second edition (issue 16), targets met"))
open(p, "w").write(s)
print(section)
