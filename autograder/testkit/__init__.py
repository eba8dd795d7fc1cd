"""Support for the tests and the benchmarks: a temporary course with a synthetic class
(``sample_class``) and a real Dask cluster on this machine (``local_cluster``).

The product never imports this package (a test checks it), the sandbox never shows it,
and grading does not fingerprint it.
"""
