"""The ``world`` fixture's teardown: a scenario that fails half-way still leaves no engine
loop running, no journal open (its lock released) and the venue closed."""

from __future__ import annotations

import pytest
from engine_helpers import config

from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal


class Boom(Exception):
    pass


def test_a_failed_scenario_is_torn_down(world, tmp_path):
    seen = {}

    async def scenario():
        sim = await world.start((120, "30000"))
        eng = await world.run_for(20, world.engine())
        seen.update(sim=sim, eng=eng, task=world._loops[id(eng)][1])
        raise Boom

    with pytest.raises(Boom):
        world.run(scenario())
    assert seen["task"].done()  # the engine loop was cancelled, not left behind
    assert seen["sim"]._closed
    assert world.journals == [] and world.sim is None
    # The journal was closed: its single-writer lock is free for a new writer.
    Journal.open(tmp_path / "j.db", Ledger(config().grid.spec()), synchronous="OFF").close()
