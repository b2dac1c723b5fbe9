"""Keras's ``ImageDataGenerator(...)`` as ``torchvision.transforms.v2`` on a ``Dataset``."""

from __future__ import annotations

import ast

from dlcourse.convert.ir import Unsupported

_PARAMS = (
    "featurewise_center",
    "samplewise_center",
    "featurewise_std_normalization",
    "samplewise_std_normalization",
    "zca_whitening",
    "zca_epsilon",
    "rotation_range",
    "width_shift_range",
    "height_shift_range",
    "brightness_range",
    "shear_range",
    "zoom_range",
    "channel_shift_range",
    "fill_mode",
    "cval",
    "horizontal_flip",
    "vertical_flip",
    "rescale",
)
"""ImageDataGenerator's arguments in Keras's order (those after ``rescale`` are refused)."""
_IGNORED_FALSE = set(_PARAMS[:6])
"""Arguments accepted only when they are off (False)."""


def _expr(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


def _is_off(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and value.value in (False, None, 0, 0.0)


def image_augment(call: ast.Call) -> tuple[ast.Call, list[str]]:
    """``ImageDataGenerator(rescale=1/255, rotation_range=20, ...)`` as
    ``ImageAugment(v2.Compose([...]), rescale=1/255)``, and notes on what differs."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        raise Unsupported(call, "ImageDataGenerator: *args and **kwargs are not supported")
    given = dict(zip(_PARAMS, call.args, strict=False))
    given.update({k.arg: k.value for k in call.keywords if k.arg})
    steps: list[ast.expr] = []
    notes: list[str] = []
    affine: list[ast.keyword] = []
    for name, value in given.items():
        if name in _IGNORED_FALSE and _is_off(value):
            continue
        if name == "rotation_range":
            continue  # below: the affine transform's degrees
        elif name in ("width_shift_range", "height_shift_range"):
            continue  # below, together
        elif name == "shear_range":
            affine.append(ast.keyword("shear", value))
        elif name == "zoom_range":
            if isinstance(value, ast.List | ast.Tuple) and len(value.elts) == 2:
                scale = ast.Tuple(list(value.elts), ast.Load())
            else:
                scale = ast.Tuple(
                    [ast.BinOp(ast.Constant(1), ast.Sub(), value),
                     ast.BinOp(ast.Constant(1), ast.Add(), value)],
                    ast.Load(),
                )  # fmt: skip
            affine.append(ast.keyword("scale", scale))
            notes.append(
                "ImageDataGenerator: zoom_range zooms both axes by one factor (v2.RandomAffine"
                " scale=); Keras draws one factor per axis"
            )
        elif name == "horizontal_flip" or name == "vertical_flip":
            if not _is_off(value):
                flip = "Horizontal" if name == "horizontal_flip" else "Vertical"
                steps.append(_expr(f"v2.Random{flip}Flip()"))
        elif name == "fill_mode":
            continue  # below
        elif name == "rescale":
            continue
        else:
            raise Unsupported(value, f"ImageDataGenerator: {name}= is not converted")
    width, height = given.get("width_shift_range"), given.get("height_shift_range")
    if width is not None or height is not None:
        zero = ast.Constant(0)
        affine.append(
            ast.keyword("translate", ast.Tuple([width or zero, height or zero], ast.Load()))
        )
    if affine or "rotation_range" in given:  # Keras: one affine transform, then the flips
        degrees = ast.keyword("degrees", given.get("rotation_range", ast.Constant(0)))
        steps.insert(0, ast.Call(_expr("v2.RandomAffine"), [], [degrees, *affine]))
    if affine or "rotation_range" in given:
        fill = given.get("fill_mode")
        mode = fill.value if isinstance(fill, ast.Constant) else "nearest"
        notes.append(
            f"ImageDataGenerator: pixels moved in from outside the image are 0 (torchvision's "
            f"fill); Keras's fill_mode={mode!r} "
            + ("fills them the same way" if mode == "constant" else "repeats the nearest edge")
        )
    keywords = [ast.keyword("rescale", given["rescale"])] if "rescale" in given else []
    steps = steps or [_expr("v2.Identity()")]
    compose = ast.Call(_expr("v2.Compose"), [ast.List(steps, ast.Load())], [])
    new = ast.Call(ast.Name("ImageAugment", ast.Load()), [compose], keywords)
    notes.append(
        "ImageDataGenerator -> ImageAugment (written out with fit): torchvision.transforms.v2 "
        "on each image, then rescale; flow(x, y, batch_size) gives Keras's endless batches"
    )
    return new, notes
