"""Figures of notebook 08: digit images, training curves, a confusion matrix and the misclassified digits."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["confusion_matrix", "confusion_matrix_figure", "digits_figure", "misclassified_figure",
           "training_curves_figure", "update_training_curves"]


def digits_figure(images, labels, predicted=None, n: int = 20, title: str = ""):
    """The first ``n`` images ``(m, 8, 8)`` (or rows ``(m, 64)``) with their labels ``(m,)``; with ``predicted``,
    each title reads "label → prediction" (red when they differ)."""
    images = np.asarray(images, dtype=np.float64).reshape(-1, 8, 8)[:n]
    cols = min(10, max(1, len(images)))
    rows = max(1, -(-len(images) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.25 * rows + (0.3 if title else 0)), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= len(images):
            continue
        ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=1)
        if predicted is None:
            ax.set_title(str(int(labels[k])), fontsize=10)
        else:
            wrong = int(predicted[k]) != int(labels[k])
            ax.set_title(f"{int(labels[k])} → {int(predicted[k])}", fontsize=9, color="C3" if wrong else "black")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def training_curves_figure(history: dict, epochs: int | None = None, title: str = "Training"):
    """Loss (left) and accuracy (right) per epoch on the training and validation sets; ``history`` holds lists
    ``epoch, train_loss, val_loss, train_acc, val_acc`` (as :class:`backproplab.training.TrainingMonitor` keeps)."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    e = history["epoch"]
    ax_loss.plot(e, history["train_loss"], "o-", ms=3, label="training")
    ax_loss.plot(e, history["val_loss"], "o-", ms=3, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss (cross-entropy)", title=f"{title}: loss")
    ax_acc.plot(e, 100 * np.asarray(history["train_acc"]), "o-", ms=3, label="training")
    ax_acc.plot(e, 100 * np.asarray(history["val_acc"]), "o-", ms=3, label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
    if epochs:
        for ax in (ax_loss, ax_acc):
            ax.set_xlim(0.5, epochs + 0.5)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def update_training_curves(fig, history: dict):
    """Redraw the four curves of a :func:`training_curves_figure` from a longer ``history`` (no new figure)."""
    e = history["epoch"]
    for ax, key, scale in ((fig.axes[0], "loss", 1.0), (fig.axes[1], "acc", 100.0)):
        for line, split in zip(ax.lines, ("train", "val"), strict=False):
            line.set_data(e, scale * np.asarray(history[f"{split}_{key}"]))
        ax.relim()
        ax.autoscale_view(scalex=False)
    return fig


def confusion_matrix(y_true, y_pred, k: int = 10) -> np.ndarray:
    """Counts ``C[i, j]`` of images of class ``i`` predicted as ``j``, ``(k, k)``."""
    C = np.zeros((k, k), dtype=np.int64)
    np.add.at(C, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return C


def confusion_matrix_figure(y_true, y_pred, k: int = 10, title: str = "Confusion matrix (validation)"):
    """The confusion matrix as an image with its counts; the diagonal holds the right answers."""
    C = confusion_matrix(y_true, y_pred, k)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.imshow(C, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if C[i, j] > C.max() / 2 else "black")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def misclassified_figure(images, y_true, y_pred, n: int = 20):
    """The first ``n`` images whose prediction is wrong, titled "true → predicted"."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified image", ha="center", va="center")
        plt.close(fig)
        return fig
    images = np.asarray(images).reshape(-1, 8, 8)
    return digits_figure(images[wrong], np.asarray(y_true)[wrong], np.asarray(y_pred)[wrong], n=n,
                         title=f"{len(wrong)} misclassified images (true → predicted)")
