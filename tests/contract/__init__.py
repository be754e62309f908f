"""The contract every recurrent module of :mod:`lstmlib.nn` keeps, checked once for all of them.

A recurrent module is added to the book by its cell, its reference twin and ONE
entry in :mod:`contract.registry`; the suites here then check it against its
oracle (its ``torch.nn`` twin where one exists, else its NumPy reference twin
in :mod:`lstmlib.reference`), in float64 and float32, with the fast paths of
:mod:`lstmlib.nn.fast_paths` on and off:

* ``test_layers.py`` (entries in ``LAYERS``): outputs, final states and the
  gradients of the input, the initial states and every parameter; padded,
  ``PackedSequence`` (sorted and unsorted), unbatched and ``batch_first``
  input; stacked and bidirectional; a single time step; the no-grad path; bad
  input and bad constructor arguments with their messages; ``state_dict``
  round trips; keyword-only arguments after the sizes where there is no torch
  twin (torch's positional order where there is one); CUDA where present.
* ``test_cells.py`` (entries in ``CELLS``): the same for one step, batched and
  unbatched (packing, ``batch_first``, stacking and directions do not exist
  for a cell).
* ``test_deployment.py`` (every entry): a whole module saved with ``torch.save``
  loads with ``torch.load``'s default ``weights_only=True``; ``torch.export``
  of every layer gives the eager outputs and gradients, and the step-by-step
  path that tracers see keeps the parity contract in every layout; TorchScript
  raises ``TorchScriptUnsupported``; ``to_torch`` / ``from_torch`` for the
  modules with a torch twin.
* ``test_trees.py`` (entries in ``TREES``): parity, no-grad, ``state_dict``,
  keyword-only arguments and CUDA for the Tree-LSTMs. Their input is a forest
  ``(x: (N, D), parent: (N,))``, so the sequence checks (packing, padding,
  ``batch_first``, unbatched input, initial states, stacking, directions) do
  not apply: a tree has no time axis, no batch axis apart from the forest's
  nodes, and no initial state.

What is special about one module (the GRU's reset-after form, the peephole LSTM
at zero peepholes being the LSTM, a 1x1 ConvLSTM being the LSTM, a child-sum
Tree-LSTM being blind to child order) stays in that module's own test file.

What an entry needs (see :class:`contract.registry.Entry`):

* ``name`` and ``module``: the class (or a ``functools.partial`` fixing an
  option, e.g. ``RNN`` with ``nonlinearity="relu"``), called as
  ``module(*shapes.args, **shapes.options, **config)``;
* ``draw(rng) -> Shapes``: random small sizes -- the constructor's positional
  sizes ``args`` (``(D, H)``; ``(C, Hc, kernel_size)`` for a ConvLSTM), the
  keyword ``options`` every module of that draw needs (ConvLSTM's
  ``peephole``, ``frame_size``), the shape of one step's input per sequence
  ``step`` (``(D,)``; ``(C, H, W)``) and of one state ``state`` (``(H,)``);
* ``state_names`` (``("h_0",)`` or ``("h_0", "c_0")``), ``step_axes`` and
  ``state_axes`` (the axis names error messages use: ``("D",)``, ``("H",)``),
  ``size_names`` (the constructor's names of the sizes, for its messages);
* an oracle: ``torch_twin`` (the ``torch.nn`` class taking the same
  arguments) and/or ``reference`` (:class:`contract.registry.Reference`: the
  NumPy layer's ``forward(params, x, states) -> (y, finals, cache)`` and
  ``backward(params, cache, dy, dfinals) -> (dparams, dx, dstates)`` over one
  layer in one direction, with states as tuples -- use :func:`contract.registry.one_state`
  for a reference that takes a bare ``h`` -- and ``init(shapes)``, whose params
  dict must have exactly the keys of layer 0 of the module's ``state_dict``).
  A module with no torch twin (e.g. the coupled-gate LSTM) gives only
  ``reference``: the suites compose its stacked, bidirectional and packed runs
  from the one-layer reference themselves.

The input factory is shared: ``x: (T, B, *step)`` from a seeded generator;
weights are made random and non-zero (biases included) with ``twins.randomize``.
"""
