"""Trees and forests for the Tree-LSTMs: parent arrays, conversions, drawing.

A batch of trees is one forest: node inputs ``x: (N, D)`` and ``parent: (N,)``
integers (``-1`` for a root); children are ordered by node index.

* :mod:`~lstmlib.trees.structure` -- :func:`check_parent`, :func:`children_lists`,
  :func:`postorder`, :func:`node_heights`, :func:`node_depths`, :func:`levels`,
  :func:`random_tree`, :func:`merge_trees`;
* :mod:`~lstmlib.trees.convert` -- :func:`tree_from_nested` (``("+", ("*", 2, 3), 4)``)
  and :func:`tree_from_bracketed` (``"(S (NP the cat) (VP sat))"``);
* :mod:`~lstmlib.trees.draw` -- :func:`draw_tree`, :func:`tree_layout` (matplotlib).
"""

from lstmlib.trees.convert import tree_from_bracketed, tree_from_nested
from lstmlib.trees.draw import draw_tree, tree_layout
from lstmlib.trees.structure import (
    check_parent,
    children_lists,
    levels,
    merge_trees,
    node_depths,
    node_heights,
    postorder,
    random_tree,
)

__all__ = [
    "check_parent", "children_lists", "postorder", "node_heights", "node_depths", "levels",
    "random_tree", "merge_trees",
    "tree_from_nested", "tree_from_bracketed",
    "draw_tree", "tree_layout",
]
