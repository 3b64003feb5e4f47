"""VisionParams: every threshold of the vision core is one field, named once."""

from __future__ import annotations

import ast
import inspect
from collections import Counter

from edge.vision import params


def test_no_parameter_is_defined_twice() -> None:
    # A dataclass takes a repeated field name silently: the later default replaces the
    # earlier one for every stage that reads it (a new "beside_reach" for rows once changed
    # how the pieces of one digit are merged).
    tree = ast.parse(inspect.getsource(params.VisionParams))
    names = Counter(
        node.target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    )
    assert len(names) > 50
    assert [name for name, count in names.items() if count > 1] == []
