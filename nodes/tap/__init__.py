"""``cuecast tap``: see, measure, call, record and replay the bus (DESIGN.md §1, issue 7).

One module per concept: :mod:`~nodes.tap.session` (config, run dir, subscriber), the pure
pieces (:mod:`~nodes.tap.selection`, :mod:`~nodes.tap.where`, :mod:`~nodes.tap.fields`,
:mod:`~nodes.tap.stats`, :mod:`~nodes.tap.format`, :mod:`~nodes.tap.schema`,
:mod:`~nodes.tap.timeline`), and one module per verb group: :mod:`~nodes.tap.catalog` (list,
info), :mod:`~nodes.tap.echo`, :mod:`~nodes.tap.rate` (hz, bw, delay), :mod:`~nodes.tap.call`
(call, describe), :mod:`~nodes.tap.publish` (pub), :mod:`~nodes.tap.monitor`,
:mod:`~nodes.tap.record` and :mod:`~nodes.tap.play`.
"""
