"""Synthetic users for ``rankstream generate``: hidden tastes, profile fields and the true relevance they imply.

Each user draws from their own numpy stream ``default_rng([seed, stream, user])``, so a user's tastes and
behaviour do not depend on how many other users exist or in which order they are simulated.

>>> import numpy as np
>>> grades(np.array([-1.0, 1.5, 2.0, 3.0, 4.0])).tolist()
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobs.generate_catalog import ACTORS, DIRECTORS, GENRES, Catalog

USER_STREAM, SESSION_STREAM = 1, 2
GRADE_CUTS = np.array([1.0, 1.8, 2.5, 3.2])
GENDERS = ("female", "male", "other")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/97.0.4692.71 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/15.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/97.0.4692.87 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:96.0) Gecko/20100101 Firefox/96.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/97.0.4692.71 Safari/537.36 Edg/97.0.1072.62",
    "Mozilla/5.0 (iPad; CPU OS 15_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/15.2 Mobile/15E148 Safari/604.1",
)
UA_WEIGHTS = np.array([35, 25, 20, 6, 8, 6], dtype=float)
UTC_OFFSETS_MIN = (-480, -300, -180, 0, 60, 120, 180, 330, 540)
OFFSET_WEIGHTS = np.array([12, 18, 6, 10, 22, 12, 6, 8, 6], dtype=float)


@dataclass(frozen=True)
class User:
    """One user's hidden tastes (used for relevance) and visible context (profile, device, time zone)."""

    index: int
    genre_weight: np.ndarray
    favourite_actors: np.ndarray
    favourite_directors: np.ndarray
    popularity_taste: float
    vote_taste: float
    age: int
    gender: str
    has_profile: bool
    user_agent: int
    utc_offset_min: int
    noise: np.ndarray

    @property
    def id(self) -> str:
        return f"u{self.index + 1}"


def make_user(seed: int, index: int, items: int) -> User:
    """Draw user ``index`` from its own stream; ``noise`` is the per-movie idiosyncratic taste."""
    rng = np.random.default_rng([seed, USER_STREAM, index])
    weights = rng.gamma(0.35, size=len(GENRES))
    return User(
        index=index,
        genre_weight=weights / weights.max(),
        favourite_actors=rng.choice(ACTORS, size=int(rng.integers(3, 7)), replace=False),
        favourite_directors=rng.choice(DIRECTORS, size=int(rng.integers(1, 4)), replace=False),
        popularity_taste=float(rng.normal(0.25, 0.35)),
        vote_taste=float(rng.normal(0.45, 0.3)),
        age=int(np.clip(rng.normal(33, 11), 16, 80)),
        gender=GENDERS[int(rng.choice(3, p=[0.48, 0.48, 0.04]))],
        has_profile=bool(rng.random() < 0.5),
        user_agent=int(rng.choice(len(USER_AGENTS), p=UA_WEIGHTS / UA_WEIGHTS.sum())),
        utc_offset_min=UTC_OFFSETS_MIN[
            int(rng.choice(len(UTC_OFFSETS_MIN), p=OFFSET_WEIGHTS / OFFSET_WEIGHTS.sum()))
        ],
        noise=rng.normal(0, 0.45, items),
    )


def relevance_score(user: User, catalog: Catalog) -> np.ndarray:
    """The user's latent utility of every movie: genre match, favourite people, popularity and votes."""
    genre_match = (catalog.genre_matrix * user.genre_weight).max(axis=1)
    actor_hits = catalog.actor_matrix[:, user.favourite_actors].sum(axis=1)
    director_hit = np.isin(catalog.director, user.favourite_directors)
    return (
        2.0 * genre_match
        + 0.8 * actor_hits
        + 1.2 * director_hit
        + user.popularity_taste * catalog.z_pop
        + user.vote_taste * catalog.z_vote
        + user.noise
    )


def grades(scores: np.ndarray) -> np.ndarray:
    """Map latent utilities to graded relevance 0..4 with fixed cut points."""
    return np.searchsorted(GRADE_CUTS, scores, side="right")
