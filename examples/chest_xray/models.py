"""The models of the example: the original project's CNN, a batch-normalised variant, and a small CNN for 28 px.

Each ends in logits, no sigmoid or softmax layer: ``units=1`` (the default, ``--task binary``)
gives one logit, which :func:`build` compiles with ``BinaryCrossEntropy(from_logits=True)`` and
``Sequential.predict`` turns into P(PNEUMONIA); ``units=K`` (``--task 3class``: K = 3) gives one
logit per class, compiled with ``SparseCategoricalCrossEntropy(from_logits=True)`` (the softmax
and its cross-entropy fused, docs/softmax.md), and ``predict`` gives the K softmax probabilities.
Everything before the last layer is the same for both tasks (``Dense(units)`` where the
docstrings below say ``Dense(1)``).
"""

from minicnn.layers import (BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                            GlobalAveragePooling2D, MaxPool2D, ReLU)
from minicnn.losses import BinaryCrossEntropy, SparseCategoricalCrossEntropy
from minicnn.model import Sequential
from minicnn.optimizers import Adam


def original_cnn(input_shape=(224, 224, 3), seed=None, units=1):
    """The original TensorFlow project's model: three conv blocks, then a large dense layer.

    Conv2D(32,3) ReLU MaxPool2D(2) Conv2D(64,3) ReLU MaxPool2D(2) Conv2D(128,3) ReLU MaxPool2D(2)
    Flatten Dense(128) ReLU Dropout(0.5) Dense(1). At 224x224x3 it has 11,169,089 parameters,
    11,075,712 of them in the Dense(128) layer that reads the 26x26x128 feature map
    (26 * 26 * 128 inputs * 128 units + 128 biases).

    Every layer starts from ``glorot_uniform``, Keras's default, as the original's did
    (minicnn's Conv2D defaults to ``he_normal``, the textbook choice before a ReLU; on this
    model it starts training at a far higher loss).
    """
    def conv(filters):
        return Conv2D(filters, 3, kernel_initializer="glorot_uniform")

    return Sequential([
        conv(32), ReLU(), MaxPool2D(2),
        conv(64), ReLU(), MaxPool2D(2),
        conv(128), ReLU(), MaxPool2D(2),
        Flatten(), Dense(128), ReLU(), Dropout(0.5, seed=seed), Dense(units),
    ], input_shape=input_shape, seed=seed)


def batchnorm_cnn(input_shape=(224, 224, 3), seed=None, units=1):
    """A variant: batch normalisation after each convolution and global average pooling.

    BatchNormalization keeps each block's activations well scaled, so Adam can take larger steps
    early; global average pooling replaces the 11M-parameter dense layer with a 128-number
    summary per image, which overfits less and makes Grad-CAM's last feature map the one that
    decides. Conv2D(32,3) BN ReLU MaxPool, Conv2D(64,3) BN ReLU MaxPool, Conv2D(128,3) BN ReLU
    MaxPool, Conv2D(128,3) BN ReLU, GlobalAveragePooling2D, Dropout(0.3), Dense(1).
    How it compared with the original is in docs/experiments.md.
    """
    def block(filters, pool=True):
        # momentum 0.9 (PyTorch's 0.1), not Keras's 0.99: the moving statistics used at
        # inference, m <- momentum * m + (1 - momentum) * batch mean, must keep up with weights
        # that change fast in a run of a few epochs (docs/experiments.md, note e).
        layers = [Conv2D(filters, 3, use_bias=False), BatchNormalization(momentum=0.9), ReLU()]
        return layers + [MaxPool2D(2)] if pool else layers

    return Sequential(
        block(32) + block(64) + block(128) + block(128, pool=False)
        + [GlobalAveragePooling2D(), Dropout(0.3, seed=seed), Dense(units)],
        input_shape=input_shape, seed=seed,
    )


def small_cnn(input_shape=(28, 28, 1), seed=None, units=1):
    """A small CNN for the 28x28 demo: "same" convolutions, so a 28 px film keeps a 7x7 map.

    Conv2D(32,3,same) BN ReLU MaxPool2D(2), Conv2D(64,3,same) BN ReLU MaxPool2D(2),
    Conv2D(128,3,same) BN ReLU, GlobalAveragePooling2D, Dropout(0.3), Dense(1): at 28x28 the
    maps are 28 -> 14 -> 7, and the last one (7x7x128) is Grad-CAM's. The two other models
    use "valid" convolutions, which shrink a 28 px film to 1x1 (baseline) or below
    (batchnorm). BatchNormalization momentum 0.9, as in :func:`batchnorm_cnn`.
    """
    def block(filters, pool=True):
        layers = [Conv2D(filters, 3, padding="same", use_bias=False),
                  BatchNormalization(momentum=0.9), ReLU()]
        return layers + [MaxPool2D(2)] if pool else layers

    return Sequential(
        block(32) + block(64) + block(128, pool=False)
        + [GlobalAveragePooling2D(), Dropout(0.3, seed=seed), Dense(units)],
        input_shape=input_shape, seed=seed,
    )


#: ``--model`` name -> builder.
MODELS = {"baseline": original_cnn, "batchnorm": batchnorm_cnn, "small": small_cnn}


def build(name, input_shape, seed, learning_rate, weight_decay=0.0, num_classes=2):
    """The model ``name`` of :data:`MODELS`, compiled with Adam and a cross-entropy on logits.

    ``num_classes=2``: one logit, sigmoid + binary cross-entropy; metrics accuracy, AUC,
    precision, recall. ``num_classes=K > 2``: K logits, softmax + sparse categorical
    cross-entropy (integer labels); metrics accuracy (argmax) and AUC (macro one-vs-rest,
    logged as ``auc`` too, so the best epoch is chosen the same way for both tasks).
    """
    if num_classes == 2:
        model = MODELS[name](input_shape=input_shape, seed=seed)
        loss, metrics = BinaryCrossEntropy(from_logits=True), ["accuracy", "auc", "precision",
                                                               "recall"]
    else:
        model = MODELS[name](input_shape=input_shape, seed=seed, units=num_classes)
        loss, metrics = SparseCategoricalCrossEntropy(from_logits=True), ["accuracy", "auc"]
    model.compile(optimizer=Adam(learning_rate=learning_rate, weight_decay=weight_decay),
                  loss=loss, metrics=metrics)
    return model
