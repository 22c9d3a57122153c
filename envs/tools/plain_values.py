"""Plain values as JSON: the only thing that crosses between the agent's process and the tests.

PythonTests sends each call's arguments to the agent's program and reads back return values in this
encoding. It carries plain data only (``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
``bytes``, and ``list``, ``tuple``, ``set``, ``frozenset``, ``dict`` of them; exact types, no
subclasses), so nothing that comes back can be an object with its own ``__eq__``: what the tests
compare is a value the environment built itself. Decoding is ``json.loads`` plus a walk over tagged
nodes; it never imports, evaluates or unpickles anything.

This module uses the standard library only: its source is also sent into the sandbox, where the
agent's side encodes return values and decodes arguments with the same two functions.
"""

import json

MAX_DEPTH = 40
_SCALARS = (str, int, bool, type(None))
_SEQUENCES = {list: "l", tuple: "t", set: "s", frozenset: "fs"}


class NotPlain(ValueError):
    """A value holds something other than plain data (or nests deeper than ``MAX_DEPTH``)."""


def encode_plain(value, depth=0):
    """Return ``value`` as a JSON-able tree; raise :class:`NotPlain` for anything else."""
    kind = type(value)
    if depth > MAX_DEPTH:
        raise NotPlain("the value nests too deeply")
    if kind in _SCALARS:
        return value
    if kind is float:
        return {"f": repr(value)}
    if kind is complex:
        return {"c": [repr(value.real), repr(value.imag)]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind in _SEQUENCES:
        return {_SEQUENCES[kind]: [encode_plain(item, depth + 1) for item in value]}
    if kind is dict:
        return {
            "d": [
                [encode_plain(k, depth + 1), encode_plain(v, depth + 1)] for k, v in value.items()
            ]
        }
    raise NotPlain(f"a {kind.__name__} is not plain data")


def decode_plain(tree, depth=0):
    """Rebuild a value from :func:`encode_plain`'s tree; raise ``ValueError`` if malformed."""
    if depth > MAX_DEPTH:
        raise ValueError("the value nests too deeply")
    if tree is None or type(tree) in (str, bool, int):
        return tree
    if type(tree) is not dict or len(tree) != 1:
        raise ValueError("malformed plain value")
    ((tag, body),) = tree.items()
    if tag == "f" and type(body) is str:
        return _float(body)
    if tag == "c" and type(body) is list and len(body) == 2:
        return complex(_float(body[0]), _float(body[1]))
    if tag == "b" and type(body) is str:
        return bytes.fromhex(body)
    if tag == "d" and type(body) is list:
        pairs = [_pair(item, depth) for item in body]
        return dict(pairs)
    if tag in ("l", "t", "s", "fs") and type(body) is list:
        items = [decode_plain(item, depth + 1) for item in body]
        return {"l": list, "t": tuple, "s": set, "fs": frozenset}[tag](items)
    raise ValueError(f"malformed plain value (tag {tag!r})")


def dumps_plain(value):
    """Encode ``value`` and serialise it as compact JSON text."""
    return json.dumps(encode_plain(value), separators=(",", ":"))


def loads_plain(text):
    """Parse JSON text from :func:`dumps_plain` back into a value (``ValueError`` if malformed)."""
    try:
        return decode_plain(json.loads(text))
    except (RecursionError, TypeError, OverflowError) as error:
        raise ValueError(f"malformed plain value ({type(error).__name__})") from None


def _float(text):
    if type(text) is not str or len(text) > 40:
        raise ValueError("malformed float")
    return float(text)


def _pair(item, depth):
    if type(item) is not list or len(item) != 2:
        raise ValueError("malformed dict item")
    return decode_plain(item[0], depth + 1), decode_plain(item[1], depth + 1)
