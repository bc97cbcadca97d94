"""Training of the generative priors (train.py), on gray patches of clean training images."""
