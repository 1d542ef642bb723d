"""Write examples/wine_mixed.csv: scikit-learn's wine data made to look like a real export."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine

KEEP = ("alcohol", "malic_acid", "ash", "magnesium", "flavanoids", "color_intensity", "proline")


def main() -> None:
    wine = load_wine()
    rng = np.random.default_rng(11)
    columns = [list(wine.feature_names).index(name) for name in KEEP]
    # A categorical column that carries signal (a noisy copy of the class) and one that doesn't.
    regions = np.array(["north", "south", "coast"])
    region = np.where(rng.random(len(wine.target)) < 0.7, regions[wine.target],
                      regions[rng.integers(0, 3, len(wine.target))])  # fmt: skip
    cask = rng.choice(["oak", "steel"], len(wine.target))
    batch = rng.integers(1, 13, len(wine.target))  # 12 production batches: the CV groups
    path = Path(__file__).with_name("wine_mixed.csv")
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["id", *KEEP, "region", "cask", "batch", "cultivar"])
        for row in range(len(wine.target)):
            values = [f"{wine.data[row, c]:g}" for c in columns]
            cells = [*values, region[row], cask[row]]
            for index in range(len(cells)):  # about 4% of the cells are missing
                if rng.random() < 0.04:
                    cells[index] = ""
            label = f"cultivar_{'abc'[wine.target[row]]}"
            out.writerow([f"w{row:03d}", *cells, f"b{batch[row]:02d}", label])


if __name__ == "__main__":
    main()
