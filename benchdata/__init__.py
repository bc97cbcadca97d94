"""Benchmark data for RestoreBench: dataset manifests and import, the starter benchmark, the
degradation model y = Hx + n, and track-data generation. No Django.

(Named `benchdata`, not `datasets`: a package importable as `datasets` would shadow Hugging Face
datasets, which pyiqa depends on.)
"""
