"""Evaluation suites: pinned, paired, multi-agent evaluation of a policy (``envalign eval``).

``evaluate`` plays a suite tier with a policy and writes ``results.json``; ``compare`` pairs two
results episode by episode. See ``docs/eval.md``.
"""
