"""Synthetic fingerprints: images (SFinGe-style) and templates at scale.

Images follow SFinGe (Cappelli, Maio & Maltoni, "Synthetic fingerprint-image generation",
ICPR 2000; Maltoni et al., *Handbook of Fingerprint Recognition*, ch. 6): a master print per
finger (:mod:`~datasets.synthetic.orientation`, :mod:`~datasets.synthetic.ridges`) and its
impressions (:mod:`~datasets.synthetic.impressions`, :mod:`~datasets.synthetic.images`);
:mod:`~datasets.synthetic.cli` is the ``synth`` command. For galleries of up to millions of
fingers, :mod:`~datasets.synthetic.templates` generates minutiae templates directly (masters
and perturbed impressions) into a memory-mappable store.
"""

from datasets.synthetic.images import DEFAULT_SHAPE, Master, finger_images, make_master, render_impression
from datasets.synthetic.impressions import ImpressionParams
from datasets.synthetic.orientation import CLASS_FREQUENCIES, CLASSES
from datasets.synthetic.ridges import GrowthParams
from datasets.synthetic.templates import (
           MasterMinutiae,
           TemplateStore,
           impression,
           iter_batches,
           master,
           write_store,
)

__all__ = ["CLASSES", "CLASS_FREQUENCIES", "DEFAULT_SHAPE", "GrowthParams", "ImpressionParams", "Master",
           "MasterMinutiae", "TemplateStore", "finger_images", "impression", "iter_batches", "make_master",
           "master", "render_impression", "write_store"]
