"""ppghr_tools: the Python side of ppghr.

Modules (run with ``PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.<module>``):

- ``archs``     architecture registry, descriptors, fingerprints, tensor lists (no torch needed)
- ``models``    PyTorch modules (1D-ResNet, PULSE teacher/student, MLP students) and parameter counts
- ``blob``      weight blob writer/reader (docs/blob-format.md) and the blob -> PyTorch importer
- ``export``    checkpoint -> blob exporter (BatchNorm folding), CLI
- ``reference`` a plain numpy float64 interpreter of a descriptor + blob (test oracle)
- ``golden``    golden vectors for the C++ tests (tests/golden)

Only ``models``, ``blob.import_blob`` and the logits part of ``golden`` need torch; writing and
reading blobs works with numpy alone.
"""

__all__ = ["archs", "blob", "export", "golden", "models", "reference"]
