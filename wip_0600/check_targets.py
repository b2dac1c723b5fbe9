"""Print 06/00's full-run figures (from /tmp/h24/full/results.json) against issue 24's targets."""
import json

run = json.load(open("/tmp/h24/full/results.json"))[0]
m = run["metrics"]
print(run["status"], f"{run['seconds'] / 60:.1f} min")
for k in sorted(m):
    print(f"  {k}: {m[k]}")
checks = {
    "pixel accuracy mean >= 0.927 and > forest": m["val_pixel_accuracy_mean"] >= 0.927
    and m["val_pixel_accuracy_mean"] > m["rf_val_pixel_accuracy"],
    "membrane Dice mean >= 0.82 and > forest": m["val_membrane_dice_mean"] >= 0.82
    and m["val_membrane_dice_mean"] > m["rf_val_membrane_dice"],
    "Rand error < forest": m["val_rand_error_mean"] < m["rf_val_rand_error"],
    "VI < forest": m["val_vi_mean"] < m["rf_val_vi"],
    "<= 15 min": m["notebook_minutes"] <= 15,
}
for k, ok in checks.items():
    print("OK  " if ok else "FAIL", k)
