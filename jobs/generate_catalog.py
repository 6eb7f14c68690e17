"""The synthetic movie catalog behind ``rankstream generate``: attributes and their item-event fields.

Every attribute is drawn from one seeded numpy Generator, so the same seed gives the same catalog.

>>> import numpy as np
>>> catalog = make_catalog(np.random.default_rng(1), 5)
>>> catalog.size, len(item_fields(catalog, 0, catalog.popularity[0]))
(5, 12)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GENRES = (
    "drama", "comedy", "action", "thriller", "romance", "horror", "sci-fi", "animation", "documentary",
    "crime", "adventure", "fantasy", "mystery", "family", "war", "western", "musical", "history",
)  # fmt: skip
GENRE_WEIGHTS = np.array([18, 15, 10, 9, 8, 6, 6, 4, 3, 7, 7, 5, 4, 4, 2, 1, 1, 2], dtype=float)
LANGUAGES = ("en", "fr", "es", "de", "ja", "ko", "it", "hi")
LANGUAGE_WEIGHTS = np.array([70, 7, 6, 4, 5, 3, 3, 2], dtype=float)
TITLE_WORDS = (
    "the", "last", "night", "city", "love", "dark", "star", "war", "man", "woman", "girl", "boy", "king",
    "queen", "dead", "life", "story", "house", "river", "road", "game", "home", "world", "time", "day",
    "dream", "fire", "ice", "blood", "secret", "lost", "black", "white", "red", "blue", "golden", "silent",
    "wild", "little", "big", "long", "summer", "winter", "shadow", "light", "heart", "ghost", "dragon",
    "island", "mountain", "ocean", "sky", "moon", "sun", "storm", "empire", "kingdom", "hunter", "soldier",
    "detective", "doctor", "family", "brother", "sister", "father", "mother", "child", "stranger", "friend",
    "enemy", "angel", "devil", "legend", "journey", "return", "rise", "fall", "escape", "revenge", "promise",
    "letter", "song", "dance", "kiss", "rain", "snow", "wind", "street", "train", "station", "garden",
    "forest", "desert", "planet", "machine", "code", "mirror", "door", "window", "bridge", "tower", "castle",
    "school", "hotel", "paris", "tokyo", "london", "west", "north", "zero", "one", "two", "hundred", "broken",
)  # fmt: skip
ACTORS, DIRECTORS, TAGS_PER_GENRE, GENERIC_TAGS = 300, 150, 5, 10
TAGS = len(GENRES) * TAGS_PER_GENRE + GENERIC_TAGS


@dataclass(frozen=True)
class Catalog:
    """Movie attributes, one row per movie; ``z_*`` are the standardised values the user tastes weigh."""

    title_words: list[list[int]]
    genres: list[list[int]]
    actors: list[list[int]]
    tags: list[list[int]]
    director: np.ndarray
    popularity: np.ndarray
    vote_avg: np.ndarray
    vote_cnt: np.ndarray
    budget: np.ndarray
    runtime: np.ndarray
    release_date: list[str]
    language: np.ndarray
    genre_matrix: np.ndarray
    actor_matrix: np.ndarray
    word_matrix: np.ndarray
    z_pop: np.ndarray
    z_vote: np.ndarray

    @property
    def size(self) -> int:
        return len(self.genres)

    def title(self, item: int) -> str:
        return " ".join(TITLE_WORDS[w] for w in self.title_words[item])


def item_id(item: int) -> str:
    """The external id of movie index ``item``."""
    return f"m{item + 1}"


def make_catalog(rng: np.random.Generator, n: int) -> Catalog:
    """Draw ``n`` movies: latent quality drives popularity and votes, genres drive tags."""
    quality = rng.normal(size=n)
    popularity = np.round(np.exp(1.5 + 0.5 * quality + rng.normal(size=n)), 3)
    vote_avg = np.round(np.clip(6.3 + 0.9 * quality + rng.normal(0, 0.5, n), 1.0, 10.0), 1)
    genres = [_pick(rng, GENRE_WEIGHTS, rng.integers(1, 4)) for _ in range(n)]
    actor_weights = 1.0 / np.arange(1, ACTORS + 1) ** 0.6
    actors = [_pick(rng, actor_weights, rng.integers(2, 5)) for _ in range(n)]
    titles = [_title(rng) for _ in range(n)]
    return Catalog(
        title_words=titles,
        genres=genres,
        actors=actors,
        tags=[_tags(rng, g) for g in genres],
        director=rng.integers(0, DIRECTORS, n),
        popularity=popularity,
        vote_avg=vote_avg,
        vote_cnt=np.round(popularity * 40 * rng.lognormal(0, 0.5, n)).astype(np.int64),
        budget=np.round(rng.lognormal(16.5, 1.2, n), -3).astype(np.int64),
        runtime=np.clip(np.round(rng.normal(105, 20, n)), 60, 220).astype(np.int64),
        release_date=[_release_date(rng) for _ in range(n)],
        language=rng.choice(len(LANGUAGES), n, p=LANGUAGE_WEIGHTS / LANGUAGE_WEIGHTS.sum()),
        genre_matrix=_membership(genres, len(GENRES)),
        actor_matrix=_membership(actors, ACTORS),
        word_matrix=_membership(titles, len(TITLE_WORDS)),
        z_pop=_zscore(np.log(popularity)),
        z_vote=_zscore(vote_avg),
    )


def item_fields(catalog: Catalog, item: int, popularity: float) -> list[dict]:
    """The Metarank ``fields`` list of one item event (``popularity`` may differ from the catalog's)."""
    values = {
        "title": catalog.title(item),
        "genres": [GENRES[g] for g in catalog.genres[item]],
        "actors": [f"actor_{a + 1}" for a in catalog.actors[item]],
        "director": f"director_{catalog.director[item] + 1}",
        "tags": [f"tag_{t + 1}" for t in catalog.tags[item]],
        "popularity": float(popularity),
        "vote_avg": float(catalog.vote_avg[item]),
        "vote_cnt": int(catalog.vote_cnt[item]),
        "budget": int(catalog.budget[item]),
        "runtime": int(catalog.runtime[item]),
        "release_date": catalog.release_date[item],
        "language": LANGUAGES[catalog.language[item]],
    }
    return [{"name": k, "value": v} for k, v in values.items()]


def _pick(rng: np.random.Generator, weights: np.ndarray, k: int) -> list[int]:
    chosen = rng.choice(len(weights), size=int(k), replace=False, p=weights / weights.sum())
    return sorted(int(c) for c in chosen)


def _title(rng: np.random.Generator) -> list[int]:
    length = int(rng.choice(5, p=[0.2, 0.35, 0.25, 0.12, 0.08])) + 1
    return [int(w) for w in rng.integers(0, len(TITLE_WORDS), length)]


def _tags(rng: np.random.Generator, genres: list[int]) -> list[int]:
    """0-4 tags, mostly from the movie's own genres' tag groups, sometimes a generic one."""
    count = int(rng.integers(0, 5))
    pool = [g * TAGS_PER_GENRE + k for g in genres for k in range(TAGS_PER_GENRE)]
    pool += [len(GENRES) * TAGS_PER_GENRE + int(rng.integers(0, GENERIC_TAGS))]
    return sorted(int(t) for t in rng.choice(pool, size=min(count, len(pool)), replace=False))


def _release_date(rng: np.random.Generator) -> str:
    year = max(1930, 2021 - int(rng.exponential(14)))
    month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
    return f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z"


def _membership(lists: list[list[int]], width: int) -> np.ndarray:
    matrix = np.zeros((len(lists), width), dtype=bool)
    for row, members in enumerate(lists):
        matrix[row, members] = True
    return matrix


def _zscore(values: np.ndarray) -> np.ndarray:
    std = values.std()
    return (values - values.mean()) / (std if std > 0 else 1.0)
