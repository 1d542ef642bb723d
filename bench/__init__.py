"""Benchmarks for zmq-hpo (not tests): numbers against baselines measured in the same run."""
