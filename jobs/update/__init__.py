"""``rankstream update``: the streaming job that continues the bootstrap's feature state from its savepoint and
keeps the feature values in Redis fresh (``run``: the driver, ``job``: the graph, ``engine``/``sink``: its
operators' code, ``kafka``/``feedback``: its sources, ``resume``: where it restarts from)."""
