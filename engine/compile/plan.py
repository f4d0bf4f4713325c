"""The load plan: objects in dependency order, and lookups that need a second pass.

Each lookup and each `after:` makes an object depend on another. A lookup to
the object itself (Account.ParentId) cannot be set while inserting, so it is
loaded in a second pass (insert, then update). The same holds for a cycle
between objects: its lookups whose target field is optional move to the
second pass; a cycle of required lookups cannot be loaded at all and is a spec
error. Ties keep the order the spec lists objects in, so plans are stable.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from engine.errors import Diagnostic
from engine.spec.model import Spec


@dataclass(frozen=True)
class Deferred:
    field: str
    parent: str


@dataclass
class PlanStep:
    object: str
    target: str
    depends_on: list[str] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    field_count: int = 0


@dataclass
class Plan:
    steps: list[PlanStep]

    @property
    def order(self) -> list[str]:
        return [s.object for s in self.steps]


@dataclass(frozen=True)
class _Edge:
    child: str
    parent: str
    field: str | None  # None: an `after:` dependency
    required: bool


def _edges(spec: Spec, required: set[tuple[str, str]]) -> list[_Edge]:
    edges: list[_Edge] = []
    for obj in spec.objects.values():
        for rule in obj.lookups():
            if rule.value in spec.objects:
                needed = rule.required or (obj.target, rule.target) in required
                edges.append(_Edge(obj.name, rule.value, rule.target, needed))
        for parent in obj.after:
            if parent in spec.objects:
                edges.append(_Edge(obj.name, parent, None, True))
    return edges


def _strongly_connected(nodes: list[str], edges: list[_Edge]) -> dict[str, int]:
    """Tarjan's algorithm, iterative; returns node → component number."""
    graph: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        graph[e.child].append(e.parent)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child_pos = work.pop()
            if child_pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = graph[node]
            if child_pos < len(children):
                work.append((node, child_pos + 1))
                nxt = children[child_pos]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                number = len(set(component.values()))
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = number
                    if member == node:
                        break
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return component


def build_plan(spec: Spec, required: set[tuple[str, str]]) -> tuple[Plan, list[Diagnostic]]:
    """Order the spec's objects; `required` holds (target object, field) pairs that must be set."""
    names = list(spec.objects)
    position = {n: i for i, n in enumerate(names)}
    edges = _edges(spec, required)
    component = _strongly_connected(names, edges)
    sizes: dict[int, int] = {}
    for c in component.values():
        sizes[c] = sizes.get(c, 0) + 1
    problems: list[Diagnostic] = []
    hard: list[_Edge] = []
    deferred: dict[str, list[Deferred]] = {n: [] for n in names}
    for e in edges:
        cyclic = e.child == e.parent or (component[e.child] == component[e.parent]
                                         and sizes[component[e.child]] > 1)
        if cyclic and not e.required and e.field is not None:
            deferred[e.child].append(Deferred(e.field, e.parent))
        else:
            hard.append(e)
    # What is left must be acyclic; report each remaining cycle once.
    remaining = _strongly_connected(names, hard)
    reported: set[int] = set()
    for e in hard:
        same = remaining[e.child] == remaining[e.parent]
        if (e.child == e.parent or same) and remaining[e.child] not in reported:
            reported.add(remaining[e.child])
            component_id = remaining[e.child]
            members = [n for n in names if remaining[n] == component_id]
            cycle = " → ".join([*members, members[0]])
            obj = spec.objects[e.child]
            where = (*obj.ypath, "fields", e.field) if e.field else (*obj.ypath, "after")
            problems.append(spec.diagnostic(
                where, f"lookup cycle that a second pass cannot break: {cycle}",
                "every lookup in the cycle is required; make one optional (drop `required`, or "
                "pick a target field that may be empty) so it can be set after both records exist"))
    if problems:
        return Plan([]), problems
    parents: dict[str, set[str]] = {n: set() for n in names}
    for e in hard:
        if e.child != e.parent:
            parents[e.child].add(e.parent)
    waiting = {n: len(parents[n]) for n in names}
    children: dict[str, list[str]] = {n: [] for n in names}
    for child, ps in parents.items():
        for p in ps:
            children[p].append(child)
    ready = [(position[n], n) for n in names if waiting[n] == 0]
    heapq.heapify(ready)
    steps: list[PlanStep] = []
    while ready:
        _, name = heapq.heappop(ready)
        obj = spec.objects[name]
        steps.append(PlanStep(
            object=name, target=obj.target,
            depends_on=sorted({e.parent for e in edges if e.child == name and e.parent != name},
                              key=position.__getitem__),
            deferred=deferred[name], field_count=len(obj.fields)))
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (position[child], child))
    return Plan(steps), problems
