"""Static checks on a parsed rule: can it ever be decided, and does any data decide it?"""

from __future__ import annotations

import numpy as np

from bot.domain.rules.compiler import evaluate_vector
from bot.domain.rules.parser import Node, metric_refs

_SAMPLES = 257
_SPECIAL = (0.0, 1.0, -1.0, 5.0, -5.0, 100.0, -100.0)


def decidable_on_its_face(tree: Node) -> bool:
    """False when no values of the rule's inputs could ever decide it — a division by a
    zero constant (``NVDA.pct/0 > 1``), by ``x - x``, and the like.

    The rule is evaluated over a fixed spread of values for every input (zero, small and
    large, both signs, and pseudo-random ones): a rule unknown for all of them is refused.
    """
    refs = metric_refs(tree)
    generator = np.random.default_rng(8)
    columns: dict[tuple[str, str], np.ndarray] = {}
    for ref in refs:
        key = (ref.instrument.key, ref.metric)
        if key not in columns:
            spread = generator.normal(0.0, 20.0, _SAMPLES - len(_SPECIAL))
            columns[key] = np.concatenate([np.array(_SPECIAL), spread])
            generator.shuffle(columns[key])
    truth = evaluate_vector(tree, columns)
    return bool(np.broadcast_to(truth.known, (_SAMPLES,)).any())
