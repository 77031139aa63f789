"""The benchmark table: each figure beside its bare baseline and goal."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    goal: str = ""
    met: bool | None = None


class Table:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(
        self,
        figure: str,
        value: float,
        unit: str,
        baseline: float | None = None,
        goal: str = "",
        met: bool | None = None,
    ) -> None:
        self.rows.append(Row(figure, value, unit, baseline, goal, met))
        print(f"  {figure}: {value:.3f} {unit}", flush=True)

    def render(self) -> str:
        lines = ["| figure | value | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
        for r in self.rows:
            baseline = f"{r.baseline:.3f} {r.unit}" if r.baseline is not None else "—"
            ratio = f"{r.value / r.baseline:.2f}" if r.baseline else "—"
            met = {True: "yes", False: "**no**", None: "—"}[r.met]
            lines.append(f"| {r.figure} | {r.value:.3f} {r.unit} | {baseline} | {ratio} | {r.goal} | {met} |")
        return "\n".join(lines)
