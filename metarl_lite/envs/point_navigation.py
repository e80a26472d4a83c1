"""Placeholder while the chapter-4 task family is written."""

#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = ()

__all__: list[str] = []
