"""Planar layouts of the point-navigation family: arena walls, the maze map, and sampling.

Everything here is pure NumPy geometry in the world frame (metres, x to the right, y up in a
top-down view); nothing touches MuJoCo. The env classes turn the :class:`WallBox` lists into
static box geoms and use the samplers (always with the env's ``np_random``) at reset.

Example:
    >>> import numpy as np
    >>> grid = parse_maze(MAZE_MAP)
    >>> grid.shape
    (7, 9)
    >>> cells = free_cells(grid)
    >>> bool(grid[tuple(cells[0])])
    False
    >>> rng = np.random.default_rng(0)
    >>> point = sample_point(rng, half_extent=2.0)
    >>> bool(np.all(np.abs(point) <= 2.0))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAZE_MAP",
    "WallBox",
    "arena_walls",
    "cell_center",
    "free_cells",
    "maze_walls",
    "parse_maze",
    "sample_point",
    "sample_separated",
]

#: The fixed maze of ``rl_lr/PointNavMaze-v0``: ``#`` is a wall cell, ``.`` a free cell.
#: Row 0 is the top (largest y) of the maze; the maze is centred on the world origin.
MAZE_MAP: tuple[str, ...] = (
    "#########",
    "#...#...#",
    "#.#.#.#.#",
    "#.#...#.#",
    "#.#####.#",
    "#.......#",
    "#########",
)


@dataclass(frozen=True)
class WallBox:
    """An axis-aligned wall segment in the plane (a static MuJoCo box geom).

    Attributes:
        x: Centre x (m).
        y: Centre y (m).
        half_x: Half extent along x (m).
        half_y: Half extent along y (m).
    """

    x: float
    y: float
    half_x: float
    half_y: float

    def __post_init__(self) -> None:
        if self.half_x <= 0 or self.half_y <= 0:
            raise ValueError(
                f"WallBox half extents must be > 0, got half_x={self.half_x}, half_y={self.half_y}"
            )


def arena_walls(half_extent: float, thickness: float = 0.1) -> list[WallBox]:
    """The four walls enclosing the square free area ``[-half_extent, half_extent]^2``.

    Args:
        half_extent: Half side length of the free area (m), > 0.
        thickness: Wall thickness (m), > 0. Walls sit outside the free area.

    Returns:
        Four boxes: east, west, north, south.

    Raises:
        ValueError: If ``half_extent`` or ``thickness`` is not positive.
    """
    if half_extent <= 0:
        raise ValueError(f"half_extent must be > 0, got {half_extent}")
    if thickness <= 0:
        raise ValueError(f"thickness must be > 0, got {thickness}")
    h = thickness / 2.0
    outer = half_extent + thickness
    return [
        WallBox(half_extent + h, 0.0, h, outer),
        WallBox(-half_extent - h, 0.0, h, outer),
        WallBox(0.0, half_extent + h, outer, h),
        WallBox(0.0, -half_extent - h, outer, h),
    ]


def parse_maze(rows: Sequence[str]) -> NDArray[np.bool_]:
    """Parse a maze drawn with ``#`` (wall) and ``.`` (free) into a boolean wall grid.

    Args:
        rows: Equal-length strings, row 0 at the top.

    Returns:
        Array of shape ``(n_rows, n_cols)``, True where there is a wall.

    Raises:
        ValueError: If the rows are empty, ragged, use other characters, or have no free cell.
    """
    if len(rows) == 0:
        raise ValueError("maze must have at least one row, got none")
    widths = {len(row) for row in rows}
    if len(widths) != 1 or 0 in widths:
        raise ValueError(f"maze rows must be non-empty and equally long, got lengths {widths}")
    bad = set("".join(rows)) - {"#", "."}
    if bad:
        raise ValueError(f"maze may only contain '#' and '.', got {sorted(bad)}")
    grid = np.array([[ch == "#" for ch in row] for row in rows], dtype=bool)
    if grid.all():
        raise ValueError("maze must contain at least one free cell ('.')")
    return grid


def cell_center(grid_shape: tuple[int, int], row: int, col: int, cell_size: float) -> NDArray:
    """World (x, y) of the centre of cell ``(row, col)`` of a maze centred on the origin.

    Args:
        grid_shape: ``(n_rows, n_cols)`` of the maze.
        row: Row index (0 = top).
        col: Column index (0 = left).
        cell_size: Side length of a cell (m).

    Returns:
        Float array ``[x, y]``.
    """
    n_rows, n_cols = grid_shape
    return np.array(
        [(col - (n_cols - 1) / 2.0) * cell_size, ((n_rows - 1) / 2.0 - row) * cell_size]
    )


def maze_walls(grid: NDArray[np.bool_], cell_size: float) -> list[WallBox]:
    """Wall boxes of a maze; horizontal runs of wall cells are merged into one box each.

    Args:
        grid: Boolean wall grid from :func:`parse_maze`.
        cell_size: Side length of a cell (m), > 0.

    Returns:
        One :class:`WallBox` per maximal horizontal run of wall cells.

    Raises:
        ValueError: If ``cell_size`` is not positive.
    """
    if cell_size <= 0:
        raise ValueError(f"cell_size must be > 0, got {cell_size}")
    walls: list[WallBox] = []
    n_rows, n_cols = grid.shape
    for row in range(n_rows):
        col = 0
        while col < n_cols:
            if not grid[row, col]:
                col += 1
                continue
            start = col
            while col < n_cols and grid[row, col]:
                col += 1
            left = cell_center(grid.shape, row, start, cell_size)
            right = cell_center(grid.shape, row, col - 1, cell_size)
            walls.append(
                WallBox(
                    float((left[0] + right[0]) / 2.0),
                    float(left[1]),
                    (col - start) * cell_size / 2.0,
                    cell_size / 2.0,
                )
            )
    return walls


def free_cells(grid: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Indices ``(row, col)`` of the free cells, in row-major order, shape ``(n_free, 2)``."""
    return np.argwhere(~grid).astype(np.int64)


def sample_point(rng: np.random.Generator, half_extent: float) -> NDArray:
    """A point drawn uniformly from the square ``[-half_extent, half_extent]^2``."""
    return rng.uniform(-half_extent, half_extent, size=2)


def sample_separated(
    rng: np.random.Generator,
    half_extent: float,
    avoid: Sequence[NDArray] | NDArray,
    min_distance: float | Sequence[float] | NDArray,
    max_tries: int = 1000,
) -> NDArray:
    """Rejection-sample a point in ``[-half_extent, half_extent]^2`` far from given points.

    Args:
        rng: Random generator (pass the env's ``np_random`` for reproducibility).
        half_extent: Half side length of the sampling square (m), > 0.
        avoid: Points ``(x, y)`` the sample must keep away from (may be empty).
        min_distance: Required Euclidean distance to the points of ``avoid`` (m): one value
            for all, or one per point.
        max_tries: Number of draws before giving up, > 0.

    Returns:
        Float array ``[x, y]``.

    Raises:
        ValueError: If ``half_extent`` or ``max_tries`` is not positive.
        RuntimeError: If no valid point is found within ``max_tries`` draws (the constraints
            are probably infeasible, e.g. too many obstacles for the arena).
    """
    if half_extent <= 0:
        raise ValueError(f"half_extent must be > 0, got {half_extent}")
    if max_tries <= 0:
        raise ValueError(f"max_tries must be > 0, got {max_tries}")
    others = np.asarray(avoid, dtype=np.float64).reshape(-1, 2)
    required = np.broadcast_to(np.asarray(min_distance, dtype=np.float64), (len(others),))
    for _ in range(max_tries):
        point = sample_point(rng, half_extent)
        if np.all(np.linalg.norm(others - point, axis=1) >= required):
            return point
    raise RuntimeError(
        f"could not place a point at distance >= {min_distance} from {len(others)} others in "
        f"[-{half_extent}, {half_extent}]^2 after {max_tries} tries; reduce the number of "
        "obstacles or the clearances"
    )
