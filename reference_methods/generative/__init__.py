"""Generative image models used as restoration priors: PixelCNN, VAE, RealNVP/Glow flow, DCGAN, VQ-VAE.

archs.py holds the networks (no registry import); patches.py the patch grid with overlap blending and
the degradation operators in torch; priors.py the restoration algorithms (latent optimisation, flow
MAP, autoregressive filling, code re-selection); methods.py registers them with the method registry
(family "generative"); training/ has the training script; weights/ the committed safetensors files,
their training records and model cards. docs/reference_methods.md, section "Generative priors", has
the measured scores and what each model does well and badly.
"""
