"""Prepare a submission for nbgrader: restore what a student must not change, and say what was changed.

nbgrader drops a whole notebook when its grading metadata is inconsistent ("Inconsistent checksums" when a
test cell's ``grade`` flag was switched off, ``KeyError: 'grade_id'`` for a copied test cell, ...).  Before
nbgrader reads a submission, :func:`stage_notebook` compares it with the released notebook (what the student
was given, regenerated from solutions/) and writes a copy in which

* every cell that carries a grade id of the release gets the release's nbgrader metadata (grade, solution,
  locked, points, ids), its cell type and, for locked cells (instructions and tests), its source;
* a second cell with an already-used grade id (a copied test cell) or an unknown one becomes a plain cell;
* cells of the release that are missing (deleted) are put back where they were.

The student's answers (solution cells) are kept as written.  Each change becomes a short note; the notes of
changes a student could only make on purpose are reported as "tampering attempt" in grades.csv.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat


def _nbg(cell) -> dict | None:
    m = cell.get("metadata", {}).get("nbgrader")
    return m if isinstance(m, dict) else None


def read_notebook(path: Path):
    """The notebook at ``path`` (nbformat 4), or raise ValueError with a reason a student can act on."""
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not a text file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON (the file is damaged): {exc}") from None
    except OSError as exc:
        raise ValueError(f"cannot read the file: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise ValueError("not a Jupyter notebook (no list of cells)")
    try:
        return nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:                                            # noqa: BLE001
        raise ValueError(f"not a readable Jupyter notebook: {type(exc).__name__}: {exc}") from None


def _as_type(cell, cell_type: str):
    if cell.cell_type == cell_type:
        return cell
    if cell_type == "code":
        new = nbformat.v4.new_code_cell(cell.source)
    elif cell_type == "markdown":
        new = nbformat.v4.new_markdown_cell(cell.source)
    else:
        new = nbformat.v4.new_raw_cell(cell.source)
    new.metadata = cell.metadata
    if "id" in cell:
        new["id"] = cell["id"]
    return new


def stage_notebook(submitted: Path, release: Path, out: Path) -> list[str]:
    """Write the restored copy of ``submitted`` to ``out``; the notes on what had been changed.

    Raises ValueError (with the reason) when the submission is no readable notebook.
    """
    nb = read_notebook(submitted)
    rel = nbformat.read(str(release), as_version=4)
    order = [c for c in rel.cells if _nbg(c)]
    by_id = {_nbg(c)["grade_id"]: c for c in order}
    seen: dict[str, int] = {}
    cells, notes = [], []
    for cell in nb.cells:
        meta = _nbg(cell)
        if "nbgrader" in cell.get("metadata", {}) and meta is None:
            del cell.metadata["nbgrader"]
            notes.append("a cell had malformed grading metadata (removed)")
        gid = meta.get("grade_id") if meta else None
        if meta is not None and gid in by_id and gid not in seen:
            ref = by_id[gid]
            want = copy.deepcopy(_nbg(ref))
            if {k: v for k, v in meta.items() if k != "checksum"} != {k: v for k, v in want.items()
                                                                     if k != "checksum"}:
                notes.append(f"grading metadata of cell {gid} changed")
            if cell.cell_type != ref.cell_type:
                notes.append(f"cell {gid} changed from {ref.cell_type} to {cell.cell_type}")
                cell = _as_type(cell, ref.cell_type)
            cell.metadata["nbgrader"] = want
            if want.get("locked") and not want.get("solution") and cell.source != ref.source:
                notes.append(f"locked cell {gid} edited")
                cell.source = ref.source
            seen[gid] = len(cells)
            cells.append(cell)
        elif meta is not None:
            why = "a copy of cell" if gid in seen else "an unknown grade id"
            notes.append(f"{why} {gid!s:.40} (made a plain cell)")
            del cell.metadata["nbgrader"]
            cells.append(cell)
        else:
            cells.append(cell)
    missing = [g for g in by_id if g not in seen]
    for gid in missing:                            # put deleted cells back after their predecessor in the release
        pos = 0
        for prev in order[:order.index(by_id[gid])]:
            pg = _nbg(prev)["grade_id"]
            if pg in seen:
                pos = seen[pg] + 1
        cells.insert(pos, copy.deepcopy(by_id[gid]))
        seen = {g: (i if i < pos else i + 1) for g, i in seen.items()}
        seen[gid] = pos
        notes.append(f"cell {gid} was deleted (restored)")
    nb.cells = cells
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        nbformat.write(nb, str(out))
    except Exception as exc:                                            # noqa: BLE001
        raise ValueError(f"not a valid Jupyter notebook: {type(exc).__name__}: {str(exc)[:200]}") from None
    return notes


#: Notes that only a deliberate edit of grading machinery can cause (deleting a cell can be an accident).
def tampering(notes: list[str]) -> list[str]:
    return [n for n in notes if "was deleted" not in n]
