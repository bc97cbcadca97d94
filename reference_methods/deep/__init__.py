"""Deep reference methods: SRCNN, VDSR, ESPCN, SRResNet/SRGAN, DnCNN and a small IPT.

archs.py holds the networks (importable without the method registry, so the model-submission
sandbox can build them from safetensors weights); methods.py registers the restore functions;
training/ has the training scripts; weights/ the committed safetensors files and model cards.
"""
