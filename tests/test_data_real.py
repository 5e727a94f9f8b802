"Readers and the pipeline on the real CMP Facade base set."
import numpy as np
import pytest

from gaugan_nb.data import DataError, check_pairs, make_dataset, open_pairs, split_dataset, FACADE_CLASSES


@pytest.fixture(scope="module")
def cmp(cmp_dir):
    return open_pairs(cmp_dir)


def test_cmp_pairs_and_encoding(cmp):
    assert len(cmp) == 378
    assert cmp.stems[0] == "cmp_b0001" and cmp.stems[-1] == "cmp_b0378"
    assert cmp.label_offset == 1, "CMP masks store classes as 1..12"
    assert cmp.label_format == "index"
    assert cmp.class_names == FACADE_CLASSES


def test_cmp_every_pair_valid(cmp):
    rep = check_pairs(cmp)
    assert rep.ok, rep.errors[:3]
    assert (rep.image_counts > 0).all(), "all 12 classes occur"
    assert rep.image_counts[0] == rep.image_counts[1] == rep.image_counts[2] == 378  # background, facade, window everywhere
    assert rep.widths == (241, 1024) and rep.heights == (207, 1024)


def test_cmp_labels_are_indices_not_palette_colours(cmp):
    img, lab = cmp.read_pair(0)
    assert lab.ndim == 2 and lab.shape == img.shape[:2]
    assert set(np.unique(lab)) <= set(range(12))


@pytest.mark.parametrize("training", [True, False])
def test_cmp_batch_of_4_at_256(cmp, training):
    train, val = split_dataset(cmp, 0.2, seed=0)
    assert (len(train), len(val)) == (302, 76)
    x, y = next(iter(make_dataset(train if training else val, image_size=256, batch_size=4, training=training)))
    assert x.shape == (4, 256, 256, 3) and y.shape == (4, 256, 256, 12)
    x, y = x.numpy(), y.numpy()
    assert -1.0 <= x.min() < 0 < x.max() <= 1.0
    assert set(np.unique(y)) == {0.0, 1.0} and (y.sum(-1) == 1).all()


def test_narrow_photo_smaller_than_crop(cmp):
    "CMP has 241 px wide photos: cropping 256 px from them must still work."
    from PIL import Image
    widths = {s: Image.open(f).size[0] for s, f in zip(cmp.stems, cmp.image_files)}  # header only, no decode
    narrow = min(widths, key=widths.get)
    assert widths[narrow] < 256
    x, y = next(iter(make_dataset(cmp.subset([narrow]), image_size=256, batch_size=1)))
    assert x.shape == (1, 256, 256, 3) and y.shape == (1, 256, 256, 12)


def test_uneven_batches(cmp):
    sub = cmp.subset(cmp.stems[:7])
    sizes = [int(x.shape[0]) for x, _ in make_dataset(sub, image_size=64, batch_size=3, training=False)]
    assert sizes == [3, 3, 1]


def test_wrong_num_classes_on_real_data(cmp_dir):
    with pytest.raises(DataError, match="do not fit num_classes=11"):
        open_pairs(cmp_dir, class_names=FACADE_CLASSES[:11])
    with pytest.raises(DataError, match="num_classes=13 but 12 class names"):
        open_pairs(cmp_dir, num_classes=13)
