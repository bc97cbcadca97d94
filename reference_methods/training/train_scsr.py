"""Train the coupled dictionaries of sparse-coding super-resolution (Yang et al., IEEE TIP 2010).

    python -m reference_methods.training.train_scsr --scale 2 [--data ../shared/data/Train400]

Training data: Train400 (400 gray 180×180 crops of BSD, the DnCNN training set) — training images
only, never a test set. For each image, as in the SR protocol: HR = modcrop(image, s) on the 0–255
scale, LR = imresize(HR, 1/s) rounded to uint8, M = imresize(LR, s) (MATLAB bicubic, from
`benchdata.resize`). Random p×p patch positions give pairs (HR patch − its mean, the four derivative
maps of M at that patch); pairs whose HR patch variance is below 10 are pruned (the authors' rule).
Both halves are normalised to unit norm and stacked, x = [x_h; x_l]/√2, and one dictionary D is
learned for min Σ ½||x − Dα||² + λ||α||₁ s.t. ||d_j|| ≤ 1 by alternating the lasso (all signals,
`reference_methods.scsr.lasso`) with block-coordinate descent on the atoms (Mairal et al., JMLR
2010, Alg. 2). D splits into D_h and D_l, each column-normalised (as the authors do). The contrast
gain ||x_h|| ≈ g ||m − mean(m)|| is fitted by least squares on the same pairs.

Output: reference_methods/weights/scsr_x{s}.npz (float32 arrays dh, dl; scale, patch, lam, gain, and a
JSON `card` with the data, command, seed and time). Deterministic for a given seed and numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchdata.image_files import read_image, round_to_uint8
from benchdata.resize import imresize, modcrop
from reference_methods.patches import extract_patches
from reference_methods.scsr import (
    WEIGHTS_DIR,
    lasso,
    scsr_feature_patches,
    scsr_features,
)

DEFAULT_PATCH = {2: 5, 3: 7, 4: 9}


def sample_pairs(
    files: list[Path], scale: int, patch: int, per_image: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (HR patches − mean, LR features, upscaled patches − mean), each (N, dim)."""
    hs, ls, ms = [], [], []
    for path in files:
        image = read_image(path)
        if image.ndim == 3:
            image = (image @ np.array([65.481, 128.553, 24.966]) + 16.0) / 255.0
        hr = modcrop(image, scale) * 255.0
        lr = round_to_uint8(imresize(hr, 1.0 / scale)).astype(np.float64)
        mid = imresize(lr, float(scale))
        feats = scsr_features(mid)
        h, w = hr.shape
        ys = rng.integers(0, h - patch + 1, size=per_image)
        xs = rng.integers(0, w - patch + 1, size=per_image)
        for y, x in zip(ys, xs, strict=True):
            yy, xx = np.array([y]), np.array([x])
            hp = extract_patches(hr, patch, yy, xx)[0]
            mp = extract_patches(mid, patch, yy, xx)[0]
            hs.append(hp - hp.mean())
            ms.append(mp - mp.mean())
            ls.append(scsr_feature_patches(feats, patch, yy, xx)[0])
    return np.array(hs), np.array(ls), np.array(ms)


def update_dictionary(d: np.ndarray, a_mat: np.ndarray, b_mat: np.ndarray, passes: int = 3) -> np.ndarray:
    """Block-coordinate descent on the atoms with ||d_j|| ≤ 1 (Mairal et al. 2010, Alg. 2).

    a_mat = Σ α αᵀ (K, K), b_mat = Σ x αᵀ (m, K).
    """
    d = d.copy()
    for _ in range(passes):
        for j in range(d.shape[1]):
            if a_mat[j, j] < 1e-12:
                continue
            u = (b_mat[:, j] - d @ a_mat[:, j]) / a_mat[j, j] + d[:, j]
            d[:, j] = u / max(np.linalg.norm(u), 1.0)
    return d


def train(
    x: np.ndarray, atoms: int, lam: float, iterations: int, rng: np.random.Generator, log=print
) -> np.ndarray:
    """Dictionary learning with L1 codes on signals x (m, N); returns D (m, atoms)."""
    d = x[:, rng.choice(x.shape[1], size=atoms, replace=False)].copy()
    d /= np.linalg.norm(d, axis=0)
    for it in range(iterations):
        t0 = time.time()
        codes = lasso(d, x, lam)
        a_mat = codes @ codes.T
        b_mat = x @ codes.T
        unused = np.flatnonzero(np.diag(a_mat) < 1e-12)
        d = update_dictionary(d, a_mat, b_mat)
        if unused.size:
            # Atoms no signal uses are restarted from random training signals.
            d[:, unused] = x[:, rng.choice(x.shape[1], size=unused.size, replace=False)]
            d[:, unused] /= np.linalg.norm(d[:, unused], axis=0)
        resid = x - d @ codes
        objective = 0.5 * float((resid**2).sum()) + lam * float(np.abs(codes).sum())
        nnz = float((codes != 0).sum(axis=0).mean())
        log(
            f"  iteration {it + 1}/{iterations}: objective {objective:.2f}, mean nnz {nnz:.2f}, "
            f"unused {unused.size}, {time.time() - t0:.1f} s"
        )
    return d


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data/Train400"),
        help="folder of training images (default: ../shared/data/Train400)",
    )
    parser.add_argument("--patch", type=int, default=None, help="patch side on the HR grid (default 5/7/9)")
    parser.add_argument("--atoms", type=int, default=512)
    parser.add_argument(
        "--lam", type=float, default=0.15, help="sparsity weight while training (authors: 0.15)"
    )
    parser.add_argument("--pairs", type=int, default=40000, help="patch pairs to sample before pruning")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    patch = args.patch or DEFAULT_PATCH[args.scale]
    files = sorted(p for p in args.data.iterdir() if p.suffix.lower() in (".png", ".bmp", ".jpg", ".tif"))
    if not files:
        parser.error(f"no training images in {args.data}")
    rng = np.random.Generator(np.random.PCG64(args.seed))
    started = time.time()
    per_image = -(-args.pairs // len(files))
    hp, lp, mp = sample_pairs(files, args.scale, patch, per_image, rng)
    keep = hp.var(axis=1) >= 10.0
    hp, lp, mp = hp[keep], lp[keep], mp[keep]
    hn, ln, mn = (np.linalg.norm(a, axis=1) for a in (hp, lp, mp))
    ok = (hn > 1e-8) & (ln > 1e-8)
    hp, lp, hn, ln, mn = hp[ok], lp[ok], hn[ok], ln[ok], mn[ok]
    gain = float((hn * mn).sum() / (mn * mn).sum())
    print(
        f"x{args.scale}: {len(files)} images, {hp.shape[0]} pairs after pruning, "
        f"patch {patch}, gain {gain:.3f}"
    )
    x = np.concatenate([hp / hn[:, None], lp / ln[:, None]], axis=1).T / np.sqrt(2.0)
    d = train(x, args.atoms, args.lam, args.iterations, rng)
    dh, dl = d[: patch * patch], d[patch * patch :]
    dh = dh / np.maximum(np.linalg.norm(dh, axis=0), 1e-12)
    dl = dl / np.maximum(np.linalg.norm(dl, axis=0), 1e-12)
    elapsed = time.time() - started
    listing = hashlib.sha256("\n".join(p.name for p in files).encode()).hexdigest()
    card = {
        "method": "scsr (Yang et al. 2010)",
        "data": f"{args.data} ({len(files)} images; sha256 of the sorted file names {listing})",
        "pairs": int(hp.shape[0]),
        "command": "python -m reference_methods.training.train_scsr "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "seed": args.seed,
        "atoms": args.atoms,
        "iterations": args.iterations,
        "training_seconds": round(elapsed, 1),
        "numpy": np.__version__,
    }
    out = args.out or WEIGHTS_DIR / f"scsr_x{args.scale}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        dh=dh.astype(np.float32),
        dl=dl.astype(np.float32),
        scale=args.scale,
        patch=patch,
        lam=args.lam,
        gain=gain,
        card=json.dumps(card),
    )
    print(f"wrote {out} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
