"""pyiqa's NIQE and BRISQUE parameter files, written from our provisioned (checksummed) parameters, so that
pyiqa's `niqe` and `brisque` can run without downloading (benchmarks next to ours; an operator enabling
them through the pyiqa bridge). Nothing here touches the network.

- NIQE: pyiqa loads `niqe_modelparameters.mat` with `scipy.io.loadmat` and reads `mu_prisparam` and
  `cov_prisparam` — the official release's pristine model, which is what `provision-niqe` installs.
- BRISQUE (pyiqa's default `version="original"`): pyiqa loads `brisque_svm_weights.pth` with `torch.load`
  as a pair `(sv_coef (n,), sv (n, 36))` and hard-codes LIVE's `allmodel` gamma 0.05 and rho −153.591 and
  LIVE's `allrange` feature ranges; the pair is LIVE's `allmodel` support vectors and coefficients, which
  is what `provision-brisque` installs. We refuse to write it if our model's gamma or rho differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import torch

from evaluator.nr_params import load_brisque_model, load_niqe_params

PYIQA_NIQE_FILE = "niqe_modelparameters.mat"
PYIQA_BRISQUE_FILE = "brisque_svm_weights.pth"
PYIQA_BRISQUE_GAMMA, PYIQA_BRISQUE_RHO = 0.05, -153.591


def write_pyiqa_niqe_file(folder: Path) -> Path:
    params, _ = load_niqe_params()
    path = folder / PYIQA_NIQE_FILE
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(
        path, {"mu_prisparam": params["mu_pris_param"], "cov_prisparam": params["cov_pris_param"]}
    )
    return path


def write_pyiqa_brisque_file(folder: Path) -> Path:
    model, _ = load_brisque_model()
    if (model["gamma"], model["rho"]) != (PYIQA_BRISQUE_GAMMA, PYIQA_BRISQUE_RHO):
        raise ValueError(f"BRISQUE gamma {model['gamma']}, rho {model['rho']}: not what pyiqa assumes")
    path = folder / PYIQA_BRISQUE_FILE
    folder.mkdir(parents=True, exist_ok=True)
    pair = (torch.from_numpy(np.asarray(model["coef"])), torch.from_numpy(np.asarray(model["sv"])))
    torch.save(pair, path)
    return path
