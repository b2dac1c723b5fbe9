"""Model definitions shared by notebooks, one module per family (e.g. ``dlcourse.models.cifar``)."""


def __getattr__(name: str):  # lazy, so that importing one model family loads no other
    if name == "UNet":
        from dlcourse.models.unet import UNet

        return UNet
    if name in ("imagenet_backbone", "imagenet_classes", "Backbone"):
        from dlcourse.models import imagenet

        return getattr(imagenet, name)
    if name in ("EfficientNetLite0", "efficientnet_lite0"):
        from dlcourse.models import efficientnet_lite

        return getattr(efficientnet_lite, name)
    raise AttributeError(f"module 'dlcourse.models' has no attribute {name!r}")
